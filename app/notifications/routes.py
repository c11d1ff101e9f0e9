"""HTTP routes for notification channels (Telegram chats, email addresses) and their deliveries. Thin: parse, call
the service, commit, shape the answer. Webhook endpoints, the third kind of channel, keep `/v1/webhooks`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Query, Response, status
from sqlmodel import Session

from app.notifications import service
from app.notifications.models import NotificationAttempt, NotificationChannel, NotificationDelivery
from app.notifications.schemas import (
    AttemptRead,
    ChannelCreate,
    ChannelRead,
    ChannelUpdate,
    DeliveryRead,
    DeliveryState,
)
from core.clock import utcnow
from core.http import REFUSALS, OffsetQuery, ScopeDep, SessionDep, api_router
from core.schemas import Refusal

router = api_router(prefix="/v1/notifications/channels", tags=["notifications"])
CONFLICT = {**REFUSALS, 409: {"model": Refusal, "description": "The channel is disabled"}}


def channel_read(channel: NotificationChannel) -> ChannelRead:
    return ChannelRead(
        **channel.model_dump(exclude={"config", "organization_id"}),
        target=service.channel_target(channel),
        bot_id=service.bot_id(channel),
    )


def delivery_read(delivery: NotificationDelivery, attempts: list[NotificationAttempt]) -> DeliveryRead:
    return DeliveryRead(
        **delivery.model_dump(exclude={"one_more_attempt", "updated_at"}),
        attempt_log=[AttemptRead.model_validate(attempt, from_attributes=True) for attempt in attempts],
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ChannelRead, responses=REFUSALS)
def create_channel(data: Annotated[ChannelCreate, Body()], session: SessionDep, scope: ScopeDep) -> ChannelRead:
    """Add a Telegram chat (`kind: telegram`, `bot_token`, `chat_id`) or an email address (`kind: email`,
    `address`) that is told about the organisation's alerts, filtered by `person_ids`, `kinds` and `tiers`, in
    `language` (ru, kk, en). The bot token is never shown again (answers name the bot by its id)."""
    channel = service.create_channel(session, scope.organization_id, data)
    session.commit()
    return channel_read(channel)


@router.get("", response_model=list[ChannelRead])
def list_channels(session: SessionDep, scope: ScopeDep) -> list[ChannelRead]:
    return [channel_read(channel) for channel in service.list_channels(session, scope)]


@router.get("/{channel_id}", response_model=ChannelRead, responses=REFUSALS)
def get_channel(channel_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> ChannelRead:
    return channel_read(service.get_channel(session, channel_id, scope))


@router.patch("/{channel_id}", response_model=ChannelRead, responses=REFUSALS)
def update_channel(channel_id: uuid.UUID, data: ChannelUpdate, session: SessionDep, scope: ScopeDep) -> ChannelRead:
    """Change the filters, the language or the description; `enabled: true` turns a channel the service disabled
    (bot blocked, chat gone) back on, and what it is still owed is sent."""
    channel = service.update_channel(session, service.get_channel(session, channel_id, scope), data, scope)
    session.commit()
    return channel_read(channel)


@router.delete("/{channel_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSALS)
def delete_channel(channel_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> Response:
    service.delete_channel(session, service.get_channel(session, channel_id, scope))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{channel_id}/test", status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryRead, responses=CONFLICT
)
def send_test(channel_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> DeliveryRead:
    """Queue a test message to this channel; the dispatcher sends it within a second or so."""
    delivery = service.enqueue_test(session, service.get_channel(session, channel_id, scope))
    session.commit()
    return _detail(session, delivery)


@router.get("/{channel_id}/deliveries", response_model=list[DeliveryRead], responses=REFUSALS)
def list_deliveries(
    channel_id: uuid.UUID,
    session: SessionDep,
    scope: ScopeDep,
    delivery_status: Annotated[DeliveryState | None, Query(alias="status")] = None,
    offset: OffsetQuery = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryRead]:
    """What was sent to this channel, newest first, each with every attempt (outcome, error, duration)."""
    channel = service.get_channel(session, channel_id, scope)
    rows = service.list_deliveries(session, channel, delivery_status, limit, offset)
    attempts = service.attempts_of(session, [delivery.id for delivery in rows])
    return [delivery_read(delivery, attempts[delivery.id]) for delivery in rows]


@router.post(
    "/{channel_id}/deliveries/{delivery_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=CONFLICT,
)
def retry_delivery(channel_id: uuid.UUID, delivery_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> DeliveryRead:
    """Send a delivery again now (a dead or delivered one gets one more attempt)."""
    channel = service.get_channel(session, channel_id, scope)
    delivery = service.retry_by_hand(session, channel, service.get_delivery(session, channel, delivery_id), utcnow())
    session.commit()
    return _detail(session, delivery)


def _detail(session: Session, delivery: NotificationDelivery) -> DeliveryRead:
    return delivery_read(delivery, service.attempts_of(session, [delivery.id])[delivery.id])
