"""Test data for notifications: channels of an organisation, and their deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel import Session, col, select

from app.alerts.models import Alert
from app.notifications import service
from app.notifications.jobs import NotificationDispatcher
from app.notifications.models import NotificationAttempt, NotificationChannel, NotificationDelivery
from app.notifications.schemas import EmailChannelCreate, TelegramChannelCreate
from app.runtime import Runtime
from tests.app.notifications.bot_api import TOKEN
from tests.factories import DEFAULT_ORGANIZATION, organization_id
from tests.support import wait_for

PRESS_CHAT = -100123


def add_telegram_channel(
    runtime: Runtime, organization: str = DEFAULT_ORGANIZATION, chat_id: int = PRESS_CHAT, **fields: object
) -> NotificationChannel:
    data = TelegramChannelCreate.model_validate({"kind": "telegram", "bot_token": TOKEN, "chat_id": chat_id, **fields})
    return _add(runtime, organization, data)


def add_email_channel(
    runtime: Runtime,
    address: str = "desk@akimat.example.kz",
    organization: str = DEFAULT_ORGANIZATION,
    **fields: object,
) -> NotificationChannel:
    return _add(
        runtime, organization, EmailChannelCreate.model_validate({"kind": "email", "address": address, **fields})
    )


def _add(runtime: Runtime, organization: str, data: TelegramChannelCreate | EmailChannelCreate) -> NotificationChannel:
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        channel = service.create_channel(session, organization_id(runtime, organization), data)
        session.commit()
        return channel


def deliveries_of(runtime: Runtime, channel_id: uuid.UUID) -> list[NotificationDelivery]:
    with Session(runtime.db_engine) as session:
        statement = select(NotificationDelivery).where(NotificationDelivery.channel_id == channel_id)
        return list(session.exec(statement.order_by(col(NotificationDelivery.created_at))))


def attempts_of(runtime: Runtime, delivery_id: uuid.UUID) -> list[NotificationAttempt]:
    with Session(runtime.db_engine) as session:
        return service.attempts_of(session, [delivery_id])[delivery_id]


def channel(runtime: Runtime, channel_id: uuid.UUID) -> NotificationChannel:
    with Session(runtime.db_engine) as session:
        found = session.get(NotificationChannel, channel_id)
        assert found is not None
        return found


def alert(runtime: Runtime, alert_id: uuid.UUID) -> Alert:
    with Session(runtime.db_engine) as session:
        found = session.get(Alert, alert_id)
        assert found is not None
        return found


def dispatch_until(
    dispatcher: NotificationDispatcher, check: Callable[[], object], what: str, timeout: float = 15
) -> None:
    """Run the dispatcher in a poll loop until `check` holds (never a fixed sleep)."""
    wait_for(lambda: dispatcher.run() >= 0 and check(), timeout=timeout, interval=0.02, what=what)
