"""The outbox's mechanics, the same for every channel: which deliveries are due, the claim that makes sending at
least once, each delivery's attempts, a retry by hand, and the retry schedule. No commits here.

An outbox is two tables and the table of whom it sends to (`Outbox`): webhook deliveries to endpoints, notification
deliveries to channels. What is sent and how an answer is read stay with each channel (`app.webhooks.service`,
`app.notifications.service`).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.outbox.models import DeliveryStatus, OutboxRow
from core.errors import InputRejected

MAX_RETRY_AFTER_SECONDS = 86_400.0
"""A receiver's `Retry-After` is obeyed up to a day."""

Delivery = TypeVar("Delivery", bound=OutboxRow)


class Recipient(Protocol):
    """A webhook endpoint or a notification channel: what an outbox sends to."""

    id: uuid.UUID
    enabled: bool
    disabled_reason: str | None
    updated_at: datetime


class Disabled(InputRejected):
    """A retry by hand to a disabled endpoint or channel."""

    status_code = 409


@dataclass(frozen=True)
class Outbox(Generic[Delivery]):
    """The tables of one outbox; `noun` names its recipients ("endpoint": a delivery's `endpoint_id` names its
    recipient, and a retry to a disabled one is refused as `endpoint_disabled`)."""

    delivery: type[Delivery]
    attempt: Any
    """The attempt table: `id`, `delivery_id`, `attempted_at` (the two outboxes share names, not a base)."""
    recipient: Any
    """The recipient table: `id`, `enabled`, `disabled_reason`, `updated_at` (a `Recipient`)."""
    noun: str

    @property
    def recipient_key(self) -> str:
        return f"{self.noun}_id"

    def column(self, name: str) -> Any:
        return col(getattr(self.delivery, name))

    def refuse_if_disabled(self, recipient: Recipient) -> None:
        if not recipient.enabled:
            raise Disabled(f"{self.noun}_disabled", f"the {self.noun} is disabled; enable it first")


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: uuid.UUID
    recipient_id: uuid.UUID


def due_deliveries(
    session: Session, outbox: Outbox[Any], now: datetime, limit: int, skip: Collection[uuid.UUID] = ()
) -> list[DueDelivery]:
    """Pending deliveries whose time has come, to enabled recipients, oldest due first; none to `skip` (those a
    sender is already working through)."""
    recipient_id = outbox.column(outbox.recipient_key)
    statement = (
        select(outbox.column("id"), recipient_id)
        .join(outbox.recipient, col(outbox.recipient.id) == recipient_id)
        .where(
            outbox.column("status") == DeliveryStatus.PENDING,
            outbox.column("next_attempt_at") <= now,
            col(outbox.recipient.enabled) == sa.true(),
        )
        .order_by(outbox.column("next_attempt_at"), outbox.column("created_at"))
        .limit(limit)
    )
    if skip:
        statement = statement.where(recipient_id.not_in(list(skip)))
    return [DueDelivery(delivery_id, recipient) for delivery_id, recipient in session.exec(statement)]


def claim(
    session: Session, outbox: Outbox[Delivery], delivery_id: uuid.UUID, now: datetime, lease: timedelta
) -> tuple[Delivery, Any, Any] | None:
    """Claim a due delivery for `lease` and record the start of an attempt: the delivery, the attempt and its
    recipient. None when it is not to be sent now (another dispatcher took it, or its recipient was disabled or
    removed meanwhile).

    Once committed, the claim moves the next attempt past the send: if the process dies while sending, the delivery
    is due again when the lease ends, and the attempt stays on record without an outcome."""
    claimed = session.exec(
        sa.update(outbox.delivery)
        .where(
            outbox.column("id") == delivery_id,
            outbox.column("status") == DeliveryStatus.PENDING,
            outbox.column("next_attempt_at") <= now,
        )
        .values(next_attempt_at=now + lease)
    )
    if claimed.rowcount != 1:
        return None
    delivery = session.get(outbox.delivery, delivery_id)
    recipient = session.get(outbox.recipient, getattr(delivery, outbox.recipient_key)) if delivery else None
    if delivery is None or recipient is None or not recipient.enabled:
        return None
    attempt = outbox.attempt(delivery_id=delivery_id, attempted_at=now)
    session.add(attempt)
    session.flush()
    return delivery, attempt, recipient


def attempts_of(session: Session, outbox: Outbox[Any], delivery_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
    """Each delivery's attempts, oldest first."""
    rows = session.exec(
        select(outbox.attempt)
        .where(col(outbox.attempt.delivery_id).in_(delivery_ids))
        .order_by(col(outbox.attempt.attempted_at), col(outbox.attempt.id))
    )
    found: dict[uuid.UUID, list[Any]] = {delivery_id: [] for delivery_id in delivery_ids}
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found


def retry_by_hand(
    session: Session, outbox: Outbox[Delivery], recipient: Recipient, delivery: Delivery, now: datetime
) -> Delivery:
    """Send again now. A pending delivery just stops waiting; a dead or delivered one gets one more attempt outside
    the schedule (dead again if that fails)."""
    outbox.refuse_if_disabled(recipient)
    if delivery.status != DeliveryStatus.PENDING:
        delivery.status, delivery.one_more_attempt = DeliveryStatus.PENDING, True
    delivery.next_attempt_at = delivery.updated_at = now
    session.add(delivery)
    session.flush()
    return delivery


def mark_delivered(delivery: OutboxRow, now: datetime) -> None:
    delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None


def mark_dead(delivery: OutboxRow) -> None:
    delivery.status, delivery.next_attempt_at = DeliveryStatus.DEAD, None


def schedule_next(
    delivery: OutboxRow, retry_schedule: Sequence[float], retry_after_seconds: float | None, now: datetime
) -> None:
    """After a failed attempt (already counted): the next attempt after the schedule's wait, or the receiver's
    `Retry-After` if longer; dead when the schedule is used up or the attempt was the one more asked by hand."""
    delay = None
    if not delivery.one_more_attempt:
        delay = next_attempt_delay(delivery.attempts, retry_schedule, retry_after_seconds)
    if delay is None:
        mark_dead(delivery)
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delay)


def next_attempt_delay(
    failed_attempts: int, retry_schedule: Sequence[float], retry_after_seconds: float | None
) -> float | None:
    """Seconds to wait after `failed_attempts` failures, or None when the schedule is used up."""
    if failed_attempts > len(retry_schedule):
        return None
    asked = min(retry_after_seconds or 0.0, MAX_RETRY_AFTER_SECONDS)
    return max(retry_schedule[failed_attempts - 1], asked)


def disable(session: Session, outbox: Outbox[Any], recipient_id: uuid.UUID, reason: str, now: datetime) -> None:
    """Stop sending to a recipient that is gone for good; what it is owed goes out once it is enabled again."""
    recipient = session.get(outbox.recipient, recipient_id)
    if recipient is not None and recipient.enabled:
        recipient.enabled, recipient.disabled_reason, recipient.updated_at = False, reason[:500], now
        session.add(recipient)
