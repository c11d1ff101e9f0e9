"""What the console's pages read beyond the domain services: the inbox's rows, the media an alert may show, and
the evidence archive. Never commits."""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sqlmodel import Session, col, func, select

from app.alerts import service as alerts
from app.alerts.models import Alert, AlertOccurrence
from app.alerts.schemas import AlertFilter
from core.clock import utcnow
from core.errors import NotFound
from core.scope import Scope
from watchers.media_store import MediaStore
from watchers.models import MediaItem
from watchlist.models import Person, ReferenceFace
from watchlist.service import person_names, scoped_persons

INBOX_PAGE = 50


@dataclass(frozen=True)
class InboxRow:
    alert: Alert
    person_name: str
    channel: str
    has_crop: bool
    reference_face_id: str | None


@dataclass(frozen=True)
class Inbox:
    rows: list[InboxRow]
    next_cursor: str | None
    new_count: int


def inbox(session: Session, filters: AlertFilter, cursor: str | None, scope: Scope) -> Inbox:
    """A page of alerts, newest first, each with its person, its first channel and whether the face crop and the
    matched reference face can be shown; and how many alerts the scope has that nobody has triaged yet."""
    page = alerts.list_alerts(session, filters, INBOX_PAGE, cursor, scope)
    names = person_names(session, {alert.person_id for alert in page.alerts})
    cropped = alerts.detections_with_crops(session, page.alerts)
    channels = _first_channels(session, [alert.id for alert in page.alerts])
    rows = [
        InboxRow(
            alert=alert,
            person_name=names.get(alert.person_id, ""),
            channel=channels.get(alert.id, ""),
            has_crop=alert.detection_id in cropped,
            reference_face_id=alert.evidence.get("reference_face_id") if alert.kind == "face_match" else None,
        )
        for alert in page.alerts
    ]
    return Inbox(rows, page.next_cursor, new_alerts(session, scope))


def inbox_row(session: Session, alert: Alert) -> InboxRow:
    names = person_names(session, {alert.person_id})
    return InboxRow(
        alert=alert,
        person_name=names.get(alert.person_id, ""),
        channel=_first_channels(session, [alert.id]).get(alert.id, ""),
        has_crop=bool(alerts.detections_with_crops(session, [alert])),
        reference_face_id=alert.evidence.get("reference_face_id") if alert.kind == "face_match" else None,
    )


def new_alerts(session: Session, scope: Scope) -> int:
    statement = select(func.count()).select_from(Alert).where(Alert.status == "new")
    if scope.organization_id is not None or scope.person_id is not None:
        statement = statement.where(col(Alert.person_id).in_(scoped_persons(select(Person.id), scope)))
    return int(session.exec(statement).one())


def _first_channels(session: Session, alert_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not alert_ids:
        return {}
    rows = session.exec(
        select(AlertOccurrence.alert_id, AlertOccurrence.channel)
        .where(col(AlertOccurrence.alert_id).in_(alert_ids))
        .order_by(col(AlertOccurrence.posted_at).desc())
    )
    return {alert_id: channel for alert_id, channel in rows}


def filter_choices(session: Session, scope: Scope) -> tuple[list[Person], list[str]]:
    """The people and the channels the inbox can be filtered by."""
    people = list(session.exec(scoped_persons(select(Person), scope).order_by(col(Person.display_name))))
    visible = select(Alert.id).where(col(Alert.person_id).in_([person.id for person in people]))
    channels = session.exec(
        select(AlertOccurrence.channel)
        .where(col(AlertOccurrence.alert_id).in_(visible))
        .distinct()
        .order_by(col(AlertOccurrence.channel))
        .limit(200)
    )
    return people, list(channels)


def reference_crop(session: Session, alert: Alert) -> bytes | None:
    """The crop of the reference face a face alert matched, while it is enrolled."""
    face_id = alert.evidence.get("reference_face_id") if alert.kind == "face_match" else None
    face = session.get(ReferenceFace, uuid.UUID(face_id)) if face_id else None
    return face.crop_jpeg if face is not None and face.person_id == alert.person_id else None


def alert_media(session: Session, alert: Alert) -> list[MediaItem]:
    """The media items the alert was seen in, oldest first."""
    statement = (
        select(MediaItem)
        .join(AlertOccurrence, col(AlertOccurrence.media_item_id) == MediaItem.id)
        .where(AlertOccurrence.alert_id == alert.id)
        .order_by(col(AlertOccurrence.posted_at))
    )
    return list(session.exec(statement))


def kept_media_path(session: Session, alert: Alert, media_item_id: uuid.UUID, store: MediaStore) -> tuple[Path, str]:
    """The kept file of one of the alert's media items, and its kind; `NotFound` when it is not the alert's, or
    when the installation does not keep media."""
    for item in alert_media(session, alert):
        if item.id == media_item_id and item.sha256:
            path = store.path_of(item.sha256)
            if path.is_file():
                return path, item.kind
    raise NotFound(f"alert {alert.id} keeps no media {media_item_id}")


def media_type_of(path: Path, kind: str) -> str:
    head = path.open("rb").read(16)
    if head.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG"):
        return "image/png"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return "video/mp4" if kind in ("video", "animation", "round_video") else "application/octet-stream"


def service_version() -> str:
    try:
        return version("impersonation-watch")
    except PackageNotFoundError:
        return "unknown"


def evidence_zip(session: Session, alert: Alert, store: MediaStore, person_name: str) -> bytes:
    """A ZIP for a police report: the kept media, the face crop, and `manifest.json` with each file's sha256, the
    alert's evidence, every occurrence (permalink, channel, times, post text) and the service's version."""
    files: dict[str, bytes] = {}
    crop = alerts.face_crop(session, alert)
    if crop:
        files["face_crop.jpg"] = crop
    for index, item in enumerate(alert_media(session, alert)):
        if item.sha256 and store.path_of(item.sha256).is_file():
            files[f"media/{index + 1}-{item.sha256[:16]}"] = store.path_of(item.sha256).read_bytes()
    manifest = {
        "alert": {
            "id": str(alert.id),
            "kind": alert.kind,
            "person": person_name,
            "tier": alert.tier,
            "priority": alert.priority,
            "status": alert.status,
            "note": alert.note,
            "first_seen_at": _iso(alert.first_seen_at),
            "last_seen_at": _iso(alert.last_seen_at),
            "evidence": alert.evidence,
        },
        "occurrences": [
            {
                "channel": occurrence.channel,
                "permalink": occurrence.permalink,
                "posted_at": _iso(occurrence.posted_at),
                "recorded_at": _iso(occurrence.created_at),
                "official": occurrence.official,
                "post_text": post.text,
                "forwarded_from": post.forwarded_from,
            }
            for occurrence, post in alerts.occurrences(session, alert)
        ],
        "files": [
            {"name": name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
            for name, data in files.items()
        ],
        "media_kept": any(name.startswith("media/") for name in files),
        "generated_at": _iso(utcnow()),
        "service": {"name": "impersonation-watch", "version": service_version()},
    }
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
        bundle.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return archive.getvalue()


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def triage_history(session: Session, alert: Alert) -> list[tuple[datetime, str, str, str]]:
    """When the alert was triaged, to what, and by whom (role, and the user's email when a user did it)."""
    from app.auth.models import AuditEvent, User

    rows = session.exec(
        select(AuditEvent, User.email)
        .join(User, col(User.id) == AuditEvent.actor_user_id, isouter=True)
        .where(AuditEvent.action == "alert.triaged", AuditEvent.object_id == str(alert.id))
        .order_by(col(AuditEvent.at))
    )
    return [(event.at, str(event.details.get("status", "")), event.actor_role, email or "") for event, email in rows]


def audit_page(session: Session, scope: Scope, limit: int = 200) -> list[tuple[object, str]]:
    from app.auth.models import AuditEvent, User

    statement = (
        select(AuditEvent, User.email)
        .join(User, col(User.id) == AuditEvent.actor_user_id, isouter=True)
        .order_by(col(AuditEvent.at).desc())
        .limit(limit)
    )
    if scope.organization_id is not None:
        statement = statement.where(AuditEvent.organization_id == scope.organization_id)
    return [(event, email or "") for event, email in session.exec(statement)]
