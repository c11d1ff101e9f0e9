"""Alerts: raised from detections, one per person and media content; reposts add occurrences. No commits here."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from app.metrics import ALERTS_CREATED
from app.models import Alert, AlertOccurrence
from app.schemas import AlertFilter, AlertUpdate
from app.webhooks import service as webhooks
from core.clock import utcnow
from core.errors import InputRejected, NotFound
from core.scope import INSTALLATION, Scope
from watchers.models import Detection, MediaItem, Post
from watchlist.models import Person
from watchlist.service import scoped_persons


def record_detections(
    session: Session, item: MediaItem, post: Post, detections: list[Detection], *, public_base_url: str
) -> list[Alert]:
    """Raise or extend the alert of every detected person: the `DetectionSink` of the watch pipeline.

    Webhooks go out from the same transaction: `alert.created` for a new alert, and `alert.updated` (changed:
    occurrences) when its media turns up in another post, since a repost shows the fake spreading.
    """
    alerts = []
    for detection in detections:
        person = session.get(Person, detection.person_id)
        if person is None or not person.active:
            continue
        alert, created = _alert_for(session, detection, item)
        official = post.channel.lower() in {channel.lower() for channel in person.official_channels}
        added = _add_occurrence(session, alert, item, post, official)
        if created:
            webhooks.enqueue_alert_event(session, "alert.created", alert, public_base_url)
        elif added:
            webhooks.enqueue_alert_event(session, "alert.updated", alert, public_base_url, changed=["occurrences"])
        alerts.append(alert)
    return alerts


def _alert_for(session: Session, detection: Detection, item: MediaItem) -> tuple[Alert, bool]:
    """The person's alert for this media, and whether it was created now. An existing alert's row is locked until
    the transaction ends, so two reposts recorded at once both count (PostgreSQL; SQLite has one writer anyway)."""
    existing = session.exec(
        select(Alert)
        .where(Alert.person_id == detection.person_id, Alert.sha256 == detection.sha256, Alert.kind == "face_match")
        .with_for_update()
    ).first()
    if existing is not None:
        return existing, False
    alert = Alert(
        person_id=detection.person_id,
        sha256=detection.sha256,
        detection_id=detection.id,
        media_kind=item.kind,
        best_distance=detection.distance,
        official_only=True,
    )
    session.add(alert)
    session.flush()
    ALERTS_CREATED.labels(kind=alert.kind).inc()
    return alert, True


def _add_occurrence(session: Session, alert: Alert, item: MediaItem, post: Post, official: bool) -> bool:
    """Record where the media was posted; False when this media item was already recorded."""
    seen = session.exec(
        select(AlertOccurrence.id).where(AlertOccurrence.alert_id == alert.id, AlertOccurrence.media_item_id == item.id)
    ).first()
    if seen is not None:
        return False
    session.add(
        AlertOccurrence(
            alert_id=alert.id,
            media_item_id=item.id,
            watch_id=post.watch_id,
            channel=post.channel,
            permalink=post.permalink,
            posted_at=post.posted_at,
            official=official,
        )
    )
    alert.occurrences_count += 1
    alert.official_only = alert.official_only and official
    alert.first_seen_at = min(alert.first_seen_at, post.posted_at)
    alert.last_seen_at = max(alert.last_seen_at, post.posted_at)
    alert.updated_at = utcnow()
    session.add(alert)
    session.flush()
    return True


@dataclass(frozen=True)
class AlertPage:
    alerts: list[Alert]
    next_cursor: str | None


class BadCursor(InputRejected):
    pass


def encode_cursor(alert: Alert) -> str:
    payload = json.dumps([alert.created_at.isoformat(), str(alert.id)]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, alert_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(created), uuid.UUID(alert_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor("bad_cursor", "the cursor is not one this API gave out") from exc


def list_alerts(
    session: Session, filters: AlertFilter, limit: int, cursor: str | None, scope: Scope = INSTALLATION
) -> AlertPage:
    """Newest first, `limit` at a time; the cursor is opaque and stable while new alerts arrive. Only alerts about
    people the scope sees."""
    statement = select(Alert).order_by(Alert.created_at.desc(), Alert.id.desc())  # type: ignore[attr-defined]
    statement = _filtered(_scoped(statement, scope), filters)
    if cursor:
        created, alert_id = decode_cursor(cursor)
        statement = statement.where(
            sa.or_(Alert.created_at < created, sa.and_(Alert.created_at == created, Alert.id < alert_id))
        )
    rows = list(session.exec(statement.limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    return AlertPage(rows, encode_cursor(rows[-1]) if has_more else None)


def _filtered(statement: sa.Select, filters: AlertFilter) -> sa.Select:
    if filters.person_id:
        statement = statement.where(Alert.person_id == filters.person_id)
    if filters.status:
        statement = statement.where(Alert.status.in_(filters.status))  # type: ignore[attr-defined]
    if filters.since:
        statement = statement.where(Alert.created_at >= filters.since)
    if filters.until:
        statement = statement.where(Alert.created_at < filters.until)
    if filters.watch_id:
        on_watch = select(AlertOccurrence.alert_id).where(AlertOccurrence.watch_id == filters.watch_id)
        statement = statement.where(Alert.id.in_(on_watch))  # type: ignore[attr-defined]
    return statement


def _scoped(statement: sa.Select, scope: Scope) -> sa.Select:
    if scope.organization_id is None and scope.person_id is None:
        return statement
    visible = scoped_persons(select(Person.id), scope)
    return statement.where(Alert.person_id.in_(visible))  # type: ignore[attr-defined]


def get_alert(session: Session, alert_id: uuid.UUID, scope: Scope = INSTALLATION) -> Alert:
    """The alert, when it is about a person the scope sees; otherwise `NotFound`."""
    alert = session.get(Alert, alert_id)
    person = session.get(Person, alert.person_id) if alert is not None else None
    if alert is None or person is None or not scope.sees(person.organization_id, person.id):
        raise NotFound(f"alert {alert_id} not found")
    return alert


def occurrences(session: Session, alert: Alert) -> list[tuple[AlertOccurrence, Post]]:
    rows = session.exec(
        select(AlertOccurrence, Post)
        .join(MediaItem, MediaItem.id == AlertOccurrence.media_item_id)
        .join(Post, Post.id == MediaItem.post_id)
        .where(AlertOccurrence.alert_id == alert.id)
        .order_by(AlertOccurrence.posted_at, AlertOccurrence.id)  # type: ignore[arg-type]
    )
    return list(rows.all())


def detection_of(session: Session, alert: Alert) -> Detection | None:
    return session.get(Detection, alert.detection_id) if alert.detection_id else None


def triage(session: Session, alert: Alert, data: AlertUpdate, *, public_base_url: str) -> Alert:
    """Set the status and the note; an actual change sends `alert.updated` (in this transaction)."""
    changes = data.model_dump(exclude_unset=True)
    changed = []
    if changes.get("status") is not None and changes["status"] != alert.status:
        alert.status = changes["status"]
        changed.append("status")
    if "note" in changes and changes["note"] != alert.note:
        alert.note = changes["note"]
        changed.append("note")
    alert.updated_at = utcnow()
    session.add(alert)
    session.flush()
    if changed:
        webhooks.enqueue_alert_event(session, "alert.updated", alert, public_base_url, changed=changed)
    return alert
