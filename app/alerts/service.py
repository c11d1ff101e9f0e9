"""Alerts: raised once per person, kind and subject; each post that carries the subject adds an occurrence.
No commits here: the watch run or the request owns the transaction.
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.alerts.fusion import fuse_post_signals, priority_of
from app.alerts.models import Alert, AlertOccurrence
from app.alerts.schemas import AlertFilter, AlertUpdate, Evidence, FaceMatchEvidence
from app.notifications import service as notifications
from app.webhooks import service as webhooks
from core.clock import utcnow
from core.errors import InputRejected, NotFound
from core.scope import INSTALLATION, Scope
from watchers.channels import service as candidate_channels
from watchers.models import Detection, MediaAnalysis, MediaItem, Post
from watchlist.models import Person
from watchlist.service import add_negative, scoped_persons

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Signal:
    """What a detector found about one person in one post: the alert's kind, subject and evidence."""

    person: Person
    subject_key: str
    evidence: Evidence
    tier: str = "match"
    media_item: MediaItem | None = None
    detection_id: uuid.UUID | None = None


def record_detections(
    session: Session,
    item: MediaItem,
    post: Post,
    detections: list[Detection],
    *,
    public_base_url: str,
    campaign_terms: Sequence[str] = (),
) -> list[str]:
    """Raise or extend the face alert of every detected person: the `DetectionSink` of the watch pipeline. The
    post's signals are fused again with each, so a face seen after the post's text was read is corroborated.

    Each person's alert is recorded in a savepoint of its own: when one fails (its webhook body cannot be written,
    say), that person's changes are undone and every other person's alert, in this or any organisation, is still
    recorded. Returns why each failure happened (empty when all were recorded)."""
    failures = []
    for signal in face_signals(session, item, detections):
        try:
            with session.begin_nested():
                record_signals(session, [signal], post, public_base_url=public_base_url, campaign_terms=campaign_terms)
        except Exception as exc:
            log.warning("the alert of person %s for media item %s was not recorded", signal.person.id, item.id)
            failures.append(f"person {signal.person.id}: {exc.__class__.__name__}: {exc}")
    return failures


def face_signals(session: Session, item: MediaItem, detections: list[Detection]) -> list[Signal]:
    """One face signal per detected person who is still watched, its subject the media's perceptual cluster (the
    sha256 of the cluster's first photo or video; an older analysis's own sha256), so every copy of a fake adds an
    occurrence to one alert."""
    analysis = session.get(MediaAnalysis, item.sha256) if item.sha256 else None
    signals = []
    for detection in detections:
        person = session.get(Person, detection.person_id)
        if person is None or not person.active:
            continue
        signals.append(
            Signal(
                person=person,
                subject_key=analysis.cluster_key if analysis is not None else detection.sha256,
                evidence=face_evidence(detection, item.kind, poster_only=item.poster_only),
                tier=detection.tier,
                media_item=item,
                detection_id=detection.id,
            )
        )
    return signals


def face_evidence(detection: Detection, media_kind: str, *, poster_only: bool = False) -> FaceMatchEvidence:
    return FaceMatchEvidence(
        poster_only=poster_only,
        sha256=detection.sha256,
        media_kind=media_kind,
        best_distance=detection.distance,
        reference_face_id=detection.reference_face_id,
        box=detection.box or None,
        best_timestamp=detection.best_timestamp,
        timestamps=list(detection.timestamps or []),
        frames_matched=detection.frames_matched,
        track_timestamps=list(detection.track_timestamps or []),
    )


def record_signal(session: Session, signal: Signal, post: Post, *, public_base_url: str) -> Alert:
    """The person's alert for this kind and subject, raised or extended by one more post (see `record_signals`)."""
    return record_signals(session, [signal], post, public_base_url=public_base_url)[0]


def record_signals(
    session: Session,
    signals: Sequence[Signal],
    post: Post,
    *,
    public_base_url: str,
    campaign_terms: Sequence[str] = (),
) -> list[Alert]:
    """Each signal's alert (one per person, kind and subject), raised or extended by this post; then the post's
    alerts are fused (`app.alerts.fusion`), and only then are webhooks queued, so an event carries the fused tier
    and priority.

    Webhooks go out from the same transaction: `alert.created` for a new alert; `alert.updated` when the subject
    turns up in another post (changed: occurrences), since a repost shows the fake spreading, and when fusion
    raised its tier or priority. Name mentions that are only `possible` are kept for review and never pushed.
    Notifications (Telegram, email: `app.notifications`) are owed in the same transaction, on their own terms.
    """
    recorded: dict[uuid.UUID, tuple[Alert, bool, bool, bool]] = {}
    alerts = []
    for signal in signals:
        alert, created = _alert_for(session, signal)
        upgraded = not created and _upgrade_tier(alert, signal)
        official = post.channel.lower() in {channel.lower() for channel in signal.person.official_channels}
        added = _add_occurrence(session, alert, post, signal.media_item, official)
        _, was_created, was_added, was_upgraded = recorded.get(alert.id, (alert, False, False, False))
        recorded[alert.id] = (alert, created or was_created, added or was_added, upgraded or was_upgraded)
        alerts.append(alert)
    fused = fuse_post_signals(session, post, campaign_terms)
    for alert, created, added, upgraded in recorded.values():
        changed = (["occurrences"] if added else []) + (["tier"] if upgraded else [])
        changed += [name for name in fused.pop(alert.id, (alert, []))[1] if name not in changed]
        _push(session, alert, public_base_url, created=created, changed=changed)
    for alert, changed in fused.values():
        _push(session, alert, public_base_url, created=False, changed=changed)
    return alerts


def _upgrade_tier(alert: Alert, signal: Signal) -> bool:
    """A `possible` alert becomes a `match` when its subject turns up again as a `match` (never the other way)."""
    if alert.tier == "match" or signal.tier != "match":
        return False
    alert.tier = "match"
    return True


def _push(session: Session, alert: Alert, public_base_url: str, *, created: bool, changed: list[str]) -> None:
    """Queue the alert's event; which endpoints get it (a `possible` alert only those that ask for them) is the
    webhooks' choice."""
    if created:
        webhooks.enqueue_alert_event(session, "alert.created", alert, public_base_url)
    elif changed:
        webhooks.enqueue_alert_event(session, "alert.updated", alert, public_base_url, changed=changed)
    notifications.enqueue_alert(session, alert, created=created, changed=changed)


def _alert_for(session: Session, signal: Signal) -> tuple[Alert, bool]:
    """The alert of this person, kind and subject, and whether it was created now. An existing alert's row is locked
    until the transaction ends, so two reposts recorded at once both count (PostgreSQL; SQLite has one writer)."""
    kind = signal.evidence.kind
    existing = session.exec(
        select(Alert)
        .where(Alert.person_id == signal.person.id, Alert.kind == kind, Alert.subject_key == signal.subject_key)
        .with_for_update()
    ).first()
    if existing is not None:
        return existing, False
    alert = Alert(
        kind=kind,
        person_id=signal.person.id,
        subject_key=signal.subject_key,
        evidence=signal.evidence.model_dump(mode="json", exclude={"crop_url"}),
        detection_id=signal.detection_id,
        tier=signal.tier,
        official_only=True,
    )
    session.add(alert)
    session.flush()
    _count_created(alert.kind, alert.tier)
    return alert, True


def _count_created(kind: str, tier: str) -> None:
    from app.alerts.metrics import ALERTS_CREATED  # prometheus-client: for what raises alerts, not what lists them

    ALERTS_CREATED.labels(kind=kind, tier=tier).inc()


def _add_occurrence(session: Session, alert: Alert, post: Post, item: MediaItem | None, official: bool) -> bool:
    """Record where the subject was posted; False when this post (or this media item of it) was already recorded."""
    if _occurrence_exists(session, alert, post, item):
        return False
    session.add(
        AlertOccurrence(
            alert_id=alert.id,
            post_id=post.id,
            media_item_id=item.id if item is not None else None,
            watch_id=post.watch_id,
            channel=post.channel,
            permalink=post.permalink,
            posted_at=post.posted_at,
            official=official,
        )
    )
    alert.occurrences_count += 1
    alert.official_only = alert.official_only and official
    alert.priority = priority_of(alert)
    alert.first_seen_at = min(alert.first_seen_at, post.posted_at)
    alert.last_seen_at = max(alert.last_seen_at, post.posted_at)
    alert.updated_at = utcnow()
    session.add(alert)
    session.flush()
    candidate_channels.record_alert(session, alert.id, post.id)
    return True


def _occurrence_exists(session: Session, alert: Alert, post: Post, item: MediaItem | None) -> bool:
    statement = select(AlertOccurrence.id).where(AlertOccurrence.alert_id == alert.id)
    if item is not None:
        statement = statement.where(AlertOccurrence.media_item_id == item.id)
    else:
        statement = statement.where(AlertOccurrence.post_id == post.id, col(AlertOccurrence.media_item_id).is_(None))
    return session.exec(statement).first() is not None


def keep_as_negative(session: Session, alert: Alert) -> None:
    """A face alert triaged as a false match: its face's encoding becomes a negative of the person (moved from the
    detection, so it is kept once and expires with the negatives' retention)."""
    detection = session.get(Detection, alert.detection_id) if alert.detection_id else None
    if alert.kind != "face_match" or detection is None or detection.encoding is None:
        return
    add_negative(session, alert.person_id, detection.encoding, detection.distance, alert.id)
    detection.encoding = None
    session.add(detection)


def detections_with_crops(session: Session, alerts: list[Alert]) -> set[uuid.UUID]:
    """Of these alerts' detections, the ids of those that still hold a face crop."""
    ids = {alert.detection_id for alert in alerts if alert.detection_id is not None}
    if not ids:
        return set()
    rows = session.exec(select(Detection.id).where(col(Detection.id).in_(ids), col(Detection.crop_jpeg).is_not(None)))
    return set(rows.all())


@dataclass(frozen=True)
class AlertPage:
    alerts: list[Alert]
    next_cursor: str | None


def encode_cursor(alert: Alert) -> str:
    payload = json.dumps([alert.created_at.isoformat(), str(alert.id)]).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position `encode_cursor` wrote, or 422 `bad_cursor` for anything else: not base64, not a JSON pair of
    strings, a time without a zone or out of range in UTC, an id that is not a UUID."""
    try:
        created, alert_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(created, str) or not isinstance(alert_id, str):
            raise TypeError("a cursor holds two strings")
        when = datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError("a cursor's time has a zone")
        return when.astimezone(UTC), uuid.UUID(alert_id)
    except (ValueError, TypeError, OverflowError) as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise InputRejected("bad_cursor", "the cursor is not one this API gave out") from exc


def list_alerts(
    session: Session, filters: AlertFilter, limit: int, cursor: str | None, scope: Scope = INSTALLATION
) -> AlertPage:
    """Newest first, `limit` at a time; the cursor is opaque and stable while new alerts arrive. Only alerts about
    people the scope sees."""
    statement = select(Alert).order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
    statement = _filtered(_scoped(statement, scope), filters)
    if cursor:
        created, alert_id = decode_cursor(cursor)
        statement = statement.where(
            sa.or_(col(Alert.created_at) < created, sa.and_(col(Alert.created_at) == created, col(Alert.id) < alert_id))
        )
    rows = list(session.exec(statement.limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    return AlertPage(rows, encode_cursor(rows[-1]) if has_more else None)


def _filtered(statement: SelectOfScalar[Alert], filters: AlertFilter) -> SelectOfScalar[Alert]:
    if filters.person_id:
        statement = statement.where(Alert.person_id == filters.person_id)
    if filters.kind:
        statement = statement.where(col(Alert.kind).in_(filters.kind))
    if filters.status:
        statement = statement.where(col(Alert.status).in_(filters.status))
    if filters.tier:
        statement = statement.where(col(Alert.tier).in_(filters.tier))
    if filters.since:
        statement = statement.where(Alert.created_at >= filters.since)
    if filters.until:
        statement = statement.where(Alert.created_at < filters.until)
    if filters.channel:
        on_channel = select(AlertOccurrence.alert_id).where(AlertOccurrence.channel == filters.channel)
        statement = statement.where(col(Alert.id).in_(on_channel))
    if filters.watch_id:
        on_watch = select(AlertOccurrence.alert_id).where(AlertOccurrence.watch_id == filters.watch_id)
        statement = statement.where(col(Alert.id).in_(on_watch))
    return statement


def _scoped(statement: SelectOfScalar[Alert], scope: Scope) -> SelectOfScalar[Alert]:
    if scope.organization_id is None and scope.person_id is None:
        return statement
    visible = scoped_persons(select(Person.id), scope)
    return statement.where(col(Alert.person_id).in_(visible))


def get_alert(session: Session, alert_id: uuid.UUID, scope: Scope = INSTALLATION) -> Alert:
    """The alert, when it is about a person the scope sees; otherwise `NotFound`."""
    alert = session.get(Alert, alert_id)
    person = session.get(Person, alert.person_id) if alert is not None else None
    if alert is None or person is None or not scope.sees(person.organization_id, person.id):
        raise NotFound(f"alert {alert_id} not found")
    return alert


def occurrences(session: Session, alert: Alert, limit: int | None = None) -> list[tuple[AlertOccurrence, Post]]:
    """Where the alert's subject was posted, oldest first, with each post."""
    statement = (
        select(AlertOccurrence, Post)
        .join(Post, col(Post.id) == AlertOccurrence.post_id)
        .where(AlertOccurrence.alert_id == alert.id)
        .order_by(col(AlertOccurrence.posted_at), col(AlertOccurrence.id))
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.exec(statement).all())


@dataclass(frozen=True)
class Cluster:
    """The copies of a face alert's media that were posted (`occurrences` with their media items)."""

    key: str
    sha256s: list[str]
    channels: list[str]
    first_seen_at: datetime
    last_seen_at: datetime


def cluster_of(session: Session, alert: Alert) -> Cluster | None:
    """A face alert's cluster as its occurrences saw it: the distinct files posted, the channels, first and last
    seen; None for other kinds, and for an alert with no occurrence left."""
    if alert.kind != "face_match":
        return None
    rows = session.exec(
        select(AlertOccurrence.channel, AlertOccurrence.posted_at, MediaItem.sha256)
        .join(MediaItem, col(MediaItem.id) == AlertOccurrence.media_item_id)
        .where(AlertOccurrence.alert_id == alert.id)
        .order_by(col(AlertOccurrence.posted_at), col(AlertOccurrence.id))
    ).all()
    if not rows:
        return None
    return Cluster(
        key=alert.subject_key,
        sha256s=list(dict.fromkeys(sha256 for _, _, sha256 in rows if sha256)),
        channels=list(dict.fromkeys(channel for channel, _, _ in rows)),
        first_seen_at=rows[0][1],
        last_seen_at=max(posted_at for _, posted_at, _ in rows),
    )


def related_alert_ids(session: Session, alert: Alert, scope: Scope = INSTALLATION) -> list[uuid.UUID]:
    """The other alerts raised by the posts this alert was seen in, about people the scope sees, oldest first."""
    posts = select(AlertOccurrence.post_id).where(AlertOccurrence.alert_id == alert.id)
    same_posts = select(AlertOccurrence.alert_id).where(col(AlertOccurrence.post_id).in_(posts))
    statement = (
        select(Alert)
        .where(col(Alert.id).in_(same_posts), Alert.id != alert.id)
        .order_by(col(Alert.created_at), col(Alert.id))
    )
    return [related.id for related in session.exec(_scoped(statement, scope))]


def face_crop(session: Session, alert: Alert) -> bytes | None:
    """The face crop of a face alert, when it is still kept."""
    detection = session.get(Detection, alert.detection_id) if alert.detection_id else None
    return detection.crop_jpeg if detection is not None else None


def triage(session: Session, alert: Alert, data: AlertUpdate, *, public_base_url: str) -> Alert:
    """Set the status and the note; an actual change sends `alert.updated` (in this transaction)."""
    changes = data.model_dump(exclude_unset=True)
    changed = []
    if changes.get("status") is not None and changes["status"] != alert.status:
        alert.status = changes["status"]
        changed.append("status")
        if alert.status == "false_match":
            keep_as_negative(session, alert)
    if "note" in changes and changes["note"] != alert.note:
        alert.note = changes["note"]
        changed.append("note")
    alert.updated_at = utcnow()
    session.add(alert)
    session.flush()
    if changed:
        webhooks.enqueue_alert_event(session, "alert.updated", alert, public_base_url, changed=changed)
    return alert
