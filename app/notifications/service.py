"""Notification channels and their outbox. No commits here: the route, command or job that calls owns the
transaction.

A delivery is written in the transaction that raises the alert (`enqueue_alert`), one per enabled channel of the
person's organisation whose filters let it through, so it exists exactly when the alert was committed. The
dispatcher (`app.notifications.jobs`) claims what is due, renders the message from the alert as it is then, sends
it on the channel's terms and records the outcome.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.alerts.models import Alert, AlertOccurrence
from app.auth.models import Organization
from app.notifications.messages import AlertFacts, DigestFacts, alert_facts
from app.notifications.models import (
    DIGEST_EVENT,
    TEST_EVENT,
    NotificationAttempt,
    NotificationChannel,
    NotificationDelivery,
)
from app.notifications.schemas import ChannelUpdate, EmailChannelCreate, TelegramChannelCreate
from app.outbox import service as outbox
from app.outbox.service import DueDelivery
from core.clock import utcnow
from core.errors import InputRejected, NotFound
from core.scope import INSTALLATION, Scope
from watchlist.models import Person

TOP_CHANNELS = 5
OUTBOX = outbox.Outbox(NotificationDelivery, NotificationAttempt, NotificationChannel, "channel")


class UnknownPerson(InputRejected):
    pass


class Outcome:
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"
    GONE = "gone"
    """The chat or address is gone for good (bot blocked, chat deleted, token revoked): the channel is disabled."""


# --- channels ---


def create_channel(
    session: Session, organization_id: uuid.UUID | None, data: TelegramChannelCreate | EmailChannelCreate
) -> NotificationChannel:
    if organization_id is None:
        raise InputRejected("organization_required", "a notification channel belongs to an organisation")
    if session.get(Organization, organization_id) is None:
        raise NotFound(f"organisation {organization_id} not found")
    scope = Scope(role="org_admin", organization_id=organization_id)
    _check_persons_exist(session, data.person_ids, scope)
    if isinstance(data, TelegramChannelCreate):
        config: dict[str, object] = {"bot_token": data.bot_token, "chat_id": data.chat_id}
    else:
        config = {"address": data.address}
    channel = NotificationChannel(
        organization_id=organization_id,
        kind=data.kind,
        description=data.description,
        language=data.language,
        config=config,
        person_ids=[str(person_id) for person_id in dict.fromkeys(data.person_ids)],
        kinds=sorted(set(data.kinds)),
        tiers=sorted(set(data.tiers)),
        digest_hour=data.digest_hour,
        enabled=data.enabled,
    )
    session.add(channel)
    session.flush()
    return channel


def list_channels(session: Session, scope: Scope = INSTALLATION) -> list[NotificationChannel]:
    statement = select(NotificationChannel).order_by(col(NotificationChannel.created_at))
    if scope.organization_id is not None:
        statement = statement.where(NotificationChannel.organization_id == scope.organization_id)
    return list(session.exec(statement))


def get_channel(session: Session, channel_id: uuid.UUID, scope: Scope = INSTALLATION) -> NotificationChannel:
    channel = session.get(NotificationChannel, channel_id)
    if channel is None or not scope.sees(channel.organization_id):
        raise NotFound(f"notification channel {channel_id} not found")
    return channel


def update_channel(
    session: Session, channel: NotificationChannel, data: ChannelUpdate, scope: Scope = INSTALLATION
) -> NotificationChannel:
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "person_ids" in changes:
        _check_persons_exist(session, changes["person_ids"], scope)
        channel.person_ids = [str(person_id) for person_id in dict.fromkeys(changes["person_ids"])]
    for name in ("kinds", "tiers"):
        if name in changes:
            setattr(channel, name, sorted(set(changes[name])))
    for name in ("language", "description"):
        if name in changes:
            setattr(channel, name, changes[name])
    if "digest_hour" in changes:
        channel.digest_hour = None if changes["digest_hour"] < 0 else changes["digest_hour"]
    if "enabled" in changes:
        channel.enabled, channel.disabled_reason = changes["enabled"], None
    channel.updated_at = utcnow()
    session.add(channel)
    session.flush()
    return channel


def delete_channel(session: Session, channel: NotificationChannel) -> None:
    """Forget the channel with its deliveries and attempts (the database cascades)."""
    session.delete(channel)
    session.flush()


def channel_target(channel: NotificationChannel) -> str:
    return str(channel.config.get("chat_id" if channel.kind == "telegram" else "address", ""))


def bot_id(channel: NotificationChannel) -> str | None:
    """The public half of a bot token (the bot's user id): enough to tell bots apart, useless to send."""
    token = channel.config.get("bot_token")
    return str(token).split(":", 1)[0] if token else None


def _check_persons_exist(session: Session, person_ids: Sequence[uuid.UUID], scope: Scope) -> None:
    for person_id in person_ids:
        person = session.get(Person, person_id)
        if person is None or not scope.sees(person.organization_id):
            raise UnknownPerson("unknown_person", f"person {person_id} not found")


# --- the outbox, in the caller's transaction ---


def enqueue_alert(session: Session, alert: Alert, *, created: bool, changed: Sequence[str] = ()) -> int:
    """Owe the alert to every enabled channel of the person's organisation whose filters let it through: when it
    is raised, and again when its tier changes (a `possible` that became a `match` is news, and may only now pass a
    tier filter). Reposts and triage are not messaged (the webhook and the API carry them). Returns how many."""
    if not created and "tier" not in changed:
        return 0
    person = session.get(Person, alert.person_id)
    if person is None or person.organization_id is None:
        return 0
    channels = session.exec(
        select(NotificationChannel).where(
            NotificationChannel.organization_id == person.organization_id, NotificationChannel.enabled == sa.true()
        )
    )
    owed = [channel for channel in channels if lets_through(channel, alert)]
    now = utcnow()
    session.add_all(
        NotificationDelivery(
            channel_id=channel.id,
            alert_id=alert.id,
            event="alert.created" if created else "alert.updated",
            changed=list(changed),
            next_attempt_at=now,
        )
        for channel in owed
    )
    session.flush()
    return len(owed)


def lets_through(channel: NotificationChannel, alert: Alert) -> bool:
    """The channel's filters: by person, kind and tier. An empty person or kind filter lets every one through; an
    empty tier filter lets only `match` through, since a `possible` alert is for review unless a channel asks for it
    (as a webhook endpoint does with `include_possible`)."""
    return (
        (not channel.person_ids or str(alert.person_id) in channel.person_ids)
        and (not channel.kinds or alert.kind in channel.kinds)
        and (alert.tier in channel.tiers if channel.tiers else alert.tier == "match")
    )


def enqueue_test(session: Session, channel: NotificationChannel) -> NotificationDelivery:
    OUTBOX.refuse_if_disabled(channel)
    delivery = NotificationDelivery(channel_id=channel.id, event=TEST_EVENT)
    session.add(delivery)
    session.flush()
    return delivery


# --- the daily digest ---


def digest_due(channel: NotificationChannel, now: datetime) -> datetime | None:
    """The end of the day a digest is owed for now (today's digest hour once it has passed, else yesterday's), or
    None when the channel has no digest or that one was owed already."""
    if channel.digest_hour is None:
        return None
    due = now.replace(hour=channel.digest_hour, minute=0, second=0, microsecond=0)
    if due > now:
        due -= timedelta(days=1)
    if channel.digest_sent_until is not None and channel.digest_sent_until >= due:
        return None
    return due


def enqueue_digests(session: Session, now: datetime) -> int:
    """Owe each channel whose digest hour has come its digest of the day before (since the last digest, at most a
    day), when that day raised any alert the channel lets through. Returns how many were owed."""
    channels = session.exec(
        select(NotificationChannel).where(
            NotificationChannel.enabled == sa.true(), col(NotificationChannel.digest_hour).is_not(None)
        )
    )
    owed = 0
    for channel in channels:
        due = digest_due(channel, now)
        if due is None:
            continue
        start = max(due - timedelta(days=1), channel.digest_sent_until or due - timedelta(days=1))
        channel.digest_sent_until = due
        session.add(channel)
        if digest_alerts(session, channel, start, due):
            session.add(
                NotificationDelivery(channel_id=channel.id, event=DIGEST_EVENT, window_start=start, window_end=due)
            )
            owed += 1
    session.flush()
    return owed


def digest_alerts(session: Session, channel: NotificationChannel, start: datetime, end: datetime) -> list[Alert]:
    """The alerts of the channel's organisation raised in [start, end) that its filters let through, as pushed."""
    rows = session.exec(
        select(Alert)
        .join(Person, col(Person.id) == Alert.person_id)
        .where(
            Person.organization_id == channel.organization_id,
            col(Alert.created_at) >= start,
            col(Alert.created_at) < end,
        )
    )
    return [alert for alert in rows if lets_through(channel, alert)]


def digest_facts(session: Session, channel: NotificationChannel, start: datetime, end: datetime) -> DigestFacts:
    alerts = digest_alerts(session, channel, start, end)
    person_ids = sorted({alert.person_id for alert in alerts})
    named = session.exec(select(Person.id, Person.display_name).where(col(Person.id).in_(person_ids)))
    names = {person_id: name for person_id, name in named}
    by_person_kind = Counter((names.get(alert.person_id, ""), alert.kind) for alert in alerts)
    channel_counts = session.exec(
        select(AlertOccurrence.channel, sa.func.count())
        .where(col(AlertOccurrence.alert_id).in_([alert.id for alert in alerts]))
        .group_by(AlertOccurrence.channel)
        .order_by(sa.func.count().desc(), AlertOccurrence.channel)
        .limit(TOP_CHANNELS)
    )
    return DigestFacts(
        start=start,
        end=end,
        total=len(alerts),
        by_person_kind=[(person, kind, count) for (person, kind), count in sorted(by_person_kind.items())],
        top_channels=[(name, count) for name, count in channel_counts],
    )


# --- deliveries, as the API shows them ---


def list_deliveries(
    session: Session, channel: NotificationChannel, status: str | None, limit: int, offset: int
) -> list[NotificationDelivery]:
    statement = (
        select(NotificationDelivery)
        .where(NotificationDelivery.channel_id == channel.id)
        .order_by(col(NotificationDelivery.created_at).desc(), col(NotificationDelivery.id).desc())
    )
    if status:
        statement = statement.where(NotificationDelivery.status == status)
    return list(session.exec(statement.offset(offset).limit(limit)))


def get_delivery(session: Session, channel: NotificationChannel, delivery_id: uuid.UUID) -> NotificationDelivery:
    delivery = session.get(NotificationDelivery, delivery_id)
    if delivery is None or delivery.channel_id != channel.id:
        raise NotFound(f"delivery {delivery_id} of notification channel {channel.id} not found")
    return delivery


def attempts_of(session: Session, delivery_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[NotificationAttempt]]:
    return outbox.attempts_of(session, OUTBOX, delivery_ids)


def retry_by_hand(
    session: Session, channel: NotificationChannel, delivery: NotificationDelivery, now: datetime
) -> NotificationDelivery:
    """Send again now (`app.outbox.service.retry_by_hand`)."""
    return outbox.retry_by_hand(session, OUTBOX, channel, delivery, now)


# --- deliveries, as the dispatcher sends them ---


@dataclass(frozen=True)
class Outgoing:
    """One message to send, read from the outbox; no session is held while it is sent."""

    delivery_id: uuid.UUID
    attempt_id: uuid.UUID
    channel_id: uuid.UUID
    kind: str
    config: dict[str, object]
    language: str
    facts: AlertFacts | None
    """None for a test message or a digest."""
    digest: DigestFacts | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: str
    duration_ms: float
    error: str | None = None
    retry_after_seconds: float | None = None
    external_id: str | None = None


def due_deliveries(
    session: Session, now: datetime, limit: int, skip_channels: Collection[uuid.UUID] = ()
) -> list[DueDelivery]:
    return outbox.due_deliveries(session, OUTBOX, now, limit, skip_channels)


def begin_attempt(
    session: Session, delivery_id: uuid.UUID, now: datetime, lease: timedelta, public_base_url: str
) -> Outgoing | None:
    """Claim a due delivery (`app.outbox.service.claim`) and read what to send, rendered from the alert as it is
    now; None when it is not to be sent now."""
    claimed = outbox.claim(session, OUTBOX, delivery_id, now, lease)
    if claimed is None:
        return None
    delivery, attempt, channel = claimed
    alert = session.get(Alert, delivery.alert_id) if delivery.alert_id else None
    facts = alert_facts(session, alert, public_base_url, delivery.event == "alert.updated") if alert else None
    digest = None
    if delivery.event == DIGEST_EVENT and delivery.window_start and delivery.window_end:
        digest = digest_facts(session, channel, delivery.window_start, delivery.window_end)
    return Outgoing(
        delivery_id=delivery.id,
        attempt_id=attempt.id,
        channel_id=channel.id,
        kind=channel.kind,
        config=dict(channel.config),
        language=channel.language,
        facts=facts,
        digest=digest,
    )


def finish_attempt(
    session: Session, outgoing: Outgoing, result: SendResult, retry_schedule: Sequence[float], now: datetime
) -> NotificationDelivery | None:
    """Store the outcome and decide what follows: delivered; retried after the schedule's wait (or the service's
    own `retry_after`, if longer) and dead after the last; dead at once for a refusal that will not change; for a
    channel that is gone, the channel disabled with the reason (what it is owed goes out when it is enabled)."""
    delivery = session.get(NotificationDelivery, outgoing.delivery_id)
    attempt = session.get(NotificationAttempt, outgoing.attempt_id)
    if delivery is None or attempt is None:
        return None
    attempt.outcome, attempt.error, attempt.duration_ms = result.outcome, result.error, round(result.duration_ms, 2)
    session.add(attempt)
    delivery.attempts += 1
    delivery.last_error = result.error[:2000] if result.error else None
    delivery.updated_at = now
    if result.outcome == Outcome.DELIVERED:
        outbox.mark_delivered(delivery, now)
        delivery.external_id = result.external_id
    elif result.outcome == Outcome.DEAD:
        outbox.mark_dead(delivery)
    else:
        outbox.schedule_next(delivery, retry_schedule, result.retry_after_seconds, now)
        if result.outcome == Outcome.GONE:
            disable_channel(session, outgoing.channel_id, result.error or "the channel is gone", now)
    delivery.one_more_attempt = False
    session.add(delivery)
    session.flush()
    return delivery


def disable_channel(session: Session, channel_id: uuid.UUID, reason: str, now: datetime) -> None:
    outbox.disable(session, OUTBOX, channel_id, reason, now)


# --- buttons under a Telegram message ---


def channels_of_chat(session: Session, bot_token: str, chat_id: int) -> list[NotificationChannel]:
    """The enabled Telegram channels that post to this chat with this bot."""
    rows = session.exec(
        select(NotificationChannel).where(
            NotificationChannel.kind == "telegram", NotificationChannel.enabled == sa.true()
        )
    )
    return [
        channel
        for channel in rows
        if channel.config.get("bot_token") == bot_token and channel.config.get("chat_id") == chat_id
    ]


def organization_for_button(
    session: Session, bot_token: str, chat_id: int, alert_id: uuid.UUID
) -> tuple[Alert, uuid.UUID] | None:
    """The alert a button press may triage, and as which organisation: only when a channel of this bot and chat
    belongs to the organisation of the alert's person. None otherwise (another organisation's alert, an unknown
    chat, an erased alert), and the press is refused."""
    alert = session.get(Alert, alert_id)
    person = session.get(Person, alert.person_id) if alert else None
    if alert is None or person is None:
        return None
    for channel in channels_of_chat(session, bot_token, chat_id):
        if channel.organization_id == person.organization_id:
            return alert, channel.organization_id
    return None


def telegram_bot_tokens(session: Session) -> list[str]:
    """Every bot token of an enabled Telegram channel: the bots whose button presses are read."""
    rows = session.exec(
        select(NotificationChannel.config).where(
            NotificationChannel.kind == "telegram", NotificationChannel.enabled == sa.true()
        )
    )
    return sorted({str(config["bot_token"]) for config in rows if config.get("bot_token")})
