"""Webhook endpoints and the outbox. No commits here: the route, command or job that calls owns the transaction.

Events are written to the outbox in the caller's transaction (the one that raises or changes the alert), so an
event exists exactly when its cause was committed. The dispatcher (app.webhooks.jobs) sends what is due.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.alerts.models import Alert
from app.auth.models import Organization
from app.outbox import service as outbox
from app.outbox.models import DeliveryStatus
from app.outbox.service import DueDelivery
from app.webhooks import payloads
from app.webhooks.models import (
    ALL_EVENTS,
    TEST_EVENT_TYPE,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from app.webhooks.schemas import EndpointCreate, EndpointUpdate
from app.webhooks.signing import new_secret
from core.clock import utcnow
from core.errors import InputRejected, NotFound
from core.scope import INSTALLATION, Scope
from watchers.models import Watch, WatchState
from watchlist.models import Person

if TYPE_CHECKING:
    from app.webhooks.urls import WebhookUrlPolicy

OUTBOX = outbox.Outbox(WebhookDelivery, WebhookAttempt, WebhookEndpoint, "endpoint")
next_attempt_delay = outbox.next_attempt_delay


class UnknownPerson(InputRejected):
    pass


# --- endpoints ---


def create_endpoint(
    session: Session, organization_id: uuid.UUID | None, data: EndpointCreate, url_policy: WebhookUrlPolicy
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the organisation and its secret (returned here so the caller can show it once). The
    organisation is required: alert events go only to endpoints of the person's organisation, so an endpoint of
    none would never receive one (None, the operator's scope, is refused). `person_ids` must be people of that
    organisation."""
    if organization_id is None:
        raise InputRejected("organization_required", "a webhook endpoint belongs to an organisation")
    if session.get(Organization, organization_id) is None:
        raise NotFound(f"organisation {organization_id} not found")
    url_policy.check(str(data.url))
    _check_persons_exist(session, data.person_ids, Scope(role="org_admin", organization_id=organization_id))
    endpoint = WebhookEndpoint(
        organization_id=organization_id,
        url=str(data.url),
        description=data.description,
        events=sorted(set(data.events)),
        person_ids=[str(person_id) for person_id in dict.fromkeys(data.person_ids)],
        include_possible=data.include_possible,
        enabled=data.enabled,
        secret=new_secret(),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, endpoint.secret


def list_endpoints(session: Session, scope: Scope = INSTALLATION) -> list[WebhookEndpoint]:
    statement = select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at))
    if scope.organization_id is not None:
        statement = statement.where(WebhookEndpoint.organization_id == scope.organization_id)
    return list(session.exec(statement))


def get_endpoint(session: Session, endpoint_id: uuid.UUID, scope: Scope = INSTALLATION) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or not scope.sees(endpoint.organization_id):
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return endpoint


def update_endpoint(
    session: Session,
    endpoint: WebhookEndpoint,
    data: EndpointUpdate,
    url_policy: WebhookUrlPolicy,
    scope: Scope = INSTALLATION,
) -> WebhookEndpoint:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "url" in changes:
        url_policy.check(str(data.url))
        endpoint.url = str(data.url)
    if "description" in changes:
        endpoint.description = changes["description"]
    if "events" in changes:
        endpoint.events = sorted(set(changes["events"]))
    if "person_ids" in changes:
        _check_persons_exist(session, changes["person_ids"], scope)
        endpoint.person_ids = [str(person_id) for person_id in dict.fromkeys(changes["person_ids"])]
    if "include_possible" in changes:
        endpoint.include_possible = changes["include_possible"]
    if "enabled" in changes:
        endpoint.enabled = changes["enabled"]
        endpoint.disabled_reason = None
    endpoint.updated_at = utcnow()
    session.add(endpoint)
    session.flush()
    return endpoint


def delete_endpoint(session: Session, endpoint: WebhookEndpoint) -> None:
    """Forget the endpoint, its deliveries and attempts (the database cascades), and events owed to nobody."""
    session.delete(endpoint)
    session.flush()
    owed = select(WebhookDelivery.event_id)
    session.exec(sa.delete(WebhookEvent).where(col(WebhookEvent.id).not_in(owed)))


def rotate_secret(session: Session, endpoint: WebhookEndpoint, keep_previous_seconds: int, now: datetime) -> str:
    """A new secret; the current one keeps signing beside it for `keep_previous_seconds`."""
    if keep_previous_seconds > 0:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + timedelta(seconds=keep_previous_seconds)
    else:
        endpoint.previous_secret = endpoint.previous_secret_expires_at = None
    endpoint.secret = new_secret()
    endpoint.updated_at = now
    session.add(endpoint)
    session.flush()
    return endpoint.secret


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a request sent now: the current one, and the previous one while it is kept."""
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        return [endpoint.secret, endpoint.previous_secret]
    return [endpoint.secret]


def _check_persons_exist(session: Session, person_ids: Sequence[uuid.UUID], scope: Scope) -> None:
    for person_id in person_ids:
        person = session.get(Person, person_id)
        if person is None or not scope.sees(person.organization_id):
            raise UnknownPerson("unknown_person", f"person {person_id} not found")


# --- the outbox: events in the caller's transaction ---


def enqueue_alert_event(
    session: Session, event_type: str, alert: Alert, public_base_url: str, changed: Sequence[str] = ()
) -> WebhookEvent | None:
    """`alert.created` or `alert.updated` (with what `changed`) to every enabled endpoint of the person's
    organisation that wants it; a `possible` alert only to the endpoints that ask for them (`include_possible`)."""
    person = session.get(Person, alert.person_id)
    organization_id = person.organization_id if person is not None else None
    endpoints = [
        endpoint
        for endpoint in _subscribers(session, event_type, alert.person_id)
        if endpoint.organization_id == organization_id and (alert.tier == "match" or endpoint.include_possible)
    ]
    if not endpoints:
        return None
    data = payloads.alert_data(session, alert, public_base_url, changed)
    return _enqueue(session, event_type, data, endpoints)


def enqueue_watch_failed(session: Session, watch: Watch, error: Exception, public_base_url: str) -> WebhookEvent | None:
    """`watch.failed`, once per streak of failures (and each time a watch comes to need a person): a source that
    fails every few minutes for a day is one event, not hundreds. Watches are the installation's, and public, so
    every organisation's endpoint that subscribes gets it."""
    if not _failure_is_news(watch):
        return None
    endpoints = _subscribers(session, "watch.failed", None)
    if not endpoints:
        return None
    return _enqueue(session, "watch.failed", payloads.watch_failed_data(watch, error, public_base_url), endpoints)


def enqueue_test_event(session: Session, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` event for this endpoint only, whatever it subscribes to."""
    OUTBOX.refuse_if_disabled(endpoint)
    event = _enqueue(session, TEST_EVENT_TYPE, payloads.webhook_test_data(endpoint.id), [endpoint])
    return session.exec(select(WebhookDelivery).where(WebhookDelivery.event_id == event.id)).one()


def _failure_is_news(watch: Watch) -> bool:
    return watch.consecutive_failures == 1 or watch.state == WatchState.NEEDS_ATTENTION


def _subscribers(session: Session, event_type: str, person_id: uuid.UUID | None) -> list[WebhookEndpoint]:
    enabled = session.exec(select(WebhookEndpoint).where(WebhookEndpoint.enabled == sa.true()))
    return [endpoint for endpoint in enabled if _subscribes(endpoint, event_type, person_id)]


def _subscribes(endpoint: WebhookEndpoint, event_type: str, person_id: uuid.UUID | None) -> bool:
    """The person filter applies to alert events only; `watch.failed` concerns nobody in particular."""
    if ALL_EVENTS not in endpoint.events and event_type not in endpoint.events:
        return False
    return person_id is None or not endpoint.person_ids or str(person_id) in endpoint.person_ids


def _enqueue(
    session: Session, event_type: str, data: dict[str, object], endpoints: Sequence[WebhookEndpoint]
) -> WebhookEvent:
    event = WebhookEvent(type=event_type, payload="")
    event.payload = payloads.envelope(event.message_id, event_type, event.created_at, data)
    session.add(event)
    session.flush()
    session.add_all(
        WebhookDelivery(event_id=event.id, endpoint_id=endpoint.id, next_attempt_at=event.created_at)
        for endpoint in endpoints
    )
    session.flush()
    return event


# --- deliveries, as the API shows them ---


def list_deliveries(
    session: Session, endpoint: WebhookEndpoint, status: str | None, limit: int, offset: int
) -> list[tuple[WebhookDelivery, WebhookEvent]]:
    """Newest first."""
    statement = (
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, col(WebhookEvent.id) == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id).desc())
    )
    if status:
        statement = statement.where(WebhookDelivery.status == status)
    return list(session.exec(statement.offset(offset).limit(limit)).all())


def get_delivery(
    session: Session, endpoint: WebhookEndpoint, delivery_id: uuid.UUID
) -> tuple[WebhookDelivery, WebhookEvent]:
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(f"delivery {delivery_id} of webhook endpoint {endpoint.id} not found")
    event = session.get(WebhookEvent, delivery.event_id)
    assert event is not None, "deliveries cascade with their events"
    return delivery, event


def attempts_of(session: Session, delivery_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[WebhookAttempt]]:
    return outbox.attempts_of(session, OUTBOX, delivery_ids)


def retry_by_hand(
    session: Session, endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime
) -> WebhookDelivery:
    """Send again now, with the same `webhook-id` (`app.outbox.service.retry_by_hand`)."""
    return outbox.retry_by_hand(session, OUTBOX, endpoint, delivery, now)


# --- deliveries, as the dispatcher sends them ---


@dataclass(frozen=True)
class Outgoing:
    """One request to send, read from the outbox; no session is held while it is sent."""

    delivery_id: uuid.UUID
    attempt_id: uuid.UUID
    url: str
    message_id: str
    body: bytes
    secrets: list[str]


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    duration_ms: float
    error: str | None = None
    retry_after_seconds: float | None = None
    response_excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class OutboxBacklog:
    pending: int
    oldest_age_seconds: float


def outbox_backlog(session: Session, now: datetime) -> OutboxBacklog:
    """How many deliveries are still owed, and how long the oldest of them has waited."""
    count, oldest = session.exec(
        select(sa.func.count(), sa.func.min(WebhookDelivery.created_at)).where(
            WebhookDelivery.status == DeliveryStatus.PENDING
        )
    ).one()
    return OutboxBacklog(count, max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0)


def due_deliveries(
    session: Session, now: datetime, limit: int, skip_endpoints: Collection[uuid.UUID] = ()
) -> list[DueDelivery]:
    """Pending deliveries whose time has come, to enabled endpoints, oldest due first; none to `skip_endpoints`
    (those a sender is already working through)."""
    return outbox.due_deliveries(session, OUTBOX, now, limit, skip_endpoints)


def begin_attempt(session: Session, delivery_id: uuid.UUID, now: datetime, lease: timedelta) -> Outgoing | None:
    """Claim a due delivery and read what to send (`app.outbox.service.claim`); None when it is not to be sent now."""
    claimed = outbox.claim(session, OUTBOX, delivery_id, now, lease)
    if claimed is None:
        return None
    delivery, attempt, endpoint = claimed
    event = session.get(WebhookEvent, delivery.event_id)
    assert event is not None, "deliveries cascade with their events"
    return Outgoing(
        delivery_id=delivery.id,
        attempt_id=attempt.id,
        url=endpoint.url,
        message_id=event.message_id,
        body=event.payload.encode(),
        secrets=signing_secrets(endpoint, now),
    )


def finish_attempt(
    session: Session, outgoing: Outgoing, result: AttemptResult, retry_schedule: Sequence[float], now: datetime
) -> WebhookDelivery | None:
    """Store the attempt's outcome and decide what follows: delivered on 2xx; otherwise the next attempt after the
    schedule's wait (or the receiver's Retry-After, if longer), or dead after the last one. 410 Gone disables the
    endpoint. None when the delivery was removed meanwhile (with its endpoint)."""
    delivery = session.get(WebhookDelivery, outgoing.delivery_id)
    attempt = session.get(WebhookAttempt, outgoing.attempt_id)
    if delivery is None or attempt is None:
        return None
    attempt.status_code, attempt.error = result.status_code, result.error
    attempt.duration_ms, attempt.response_excerpt = round(result.duration_ms, 2), result.response_excerpt
    session.add(attempt)
    delivery.attempts += 1
    delivery.last_status_code = result.status_code
    delivery.last_error = None if result.succeeded else (result.error or f"HTTP {result.status_code}")[:2000]
    delivery.updated_at = now
    if result.succeeded:
        outbox.mark_delivered(delivery, now)
    else:
        outbox.schedule_next(delivery, retry_schedule, result.retry_after_seconds, now)
        if result.status_code == 410:
            outbox.disable(session, OUTBOX, delivery.endpoint_id, "the receiver answered 410 Gone", now)
    delivery.one_more_attempt = False
    session.add(delivery)
    session.flush()
    return delivery
