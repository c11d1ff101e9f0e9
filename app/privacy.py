"""Erasure and retention of biometric data: what the service holds about a person, and for how long.

Encodings of faces that matched nobody are never stored (a detection row exists only for a match, and the
calibration keeps counts of distances only); downloaded media is deleted once analysed unless the installation keeps
media on purpose. A face triaged as a false match is kept as the person's negative for a retention period.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.alerts.models import Alert, AlertOccurrence
from app.auth.models import ApiKey
from app.auth.service import audit
from app.webhooks.models import WebhookEvent
from core.scope import Scope
from watchers.media_store import MediaStore
from watchers.models import Detection
from watchlist.models import NegativeFace, Person
from watchlist.service import delete_person

CLOSED_WITHOUT_IMPERSONATION = ("false_match", "dismissed")


@dataclass(frozen=True)
class ErasureReport:
    person_id: uuid.UUID
    reference_faces: int
    detections: int
    alerts: int
    occurrences: int
    api_keys: int
    media_files: int
    webhook_events: int
    negative_faces: int = 0


def _delete(session: Session, statement: sa.Delete) -> int:
    return session.exec(statement).rowcount or 0


def erase_person(session: Session, person: Person, scope: Scope, media_store: MediaStore) -> ErasureReport:
    """Remove the person, their reference encodings and crops, the crops and matches of their detections, their
    alerts, keys and kept media, and the webhook events about them (sent or not: their bodies name the person);
    keep one audit record with counts only. The caller commits."""
    alert_ids = select(Alert.id).where(Alert.person_id == person.id)
    sha256s = list(session.exec(select(Detection.sha256).where(Detection.person_id == person.id)))
    organization_id = person.organization_id
    report = ErasureReport(
        person_id=person.id,
        occurrences=_delete(session, sa.delete(AlertOccurrence).where(col(AlertOccurrence.alert_id).in_(alert_ids))),
        alerts=_delete(session, sa.delete(Alert).where(col(Alert.person_id) == person.id)),
        detections=_delete(session, sa.delete(Detection).where(col(Detection.person_id) == person.id)),
        api_keys=_delete(session, sa.delete(ApiKey).where(col(ApiKey.person_id) == person.id)),
        media_files=_remove_kept_media(media_store, sha256s),
        webhook_events=_delete(
            session, sa.delete(WebhookEvent).where(col(WebhookEvent.payload).contains(str(person.id)))
        ),
        negative_faces=_delete(session, sa.delete(NegativeFace).where(col(NegativeFace.person_id) == person.id)),
        reference_faces=delete_person(session, person),
    )
    details = {k: v for k, v in asdict(report).items() if k != "person_id"}
    audit(session, scope, "person.erased", "person", person.id, organization_id=organization_id, **details)
    return report


def _remove_kept_media(media_store: MediaStore, sha256s: list[str]) -> int:
    """Every copy of the person's media on disk: the kept file and any download or reading a crash left behind."""
    return sum(media_store.remove_all_copies(sha256) for sha256 in set(sha256s))


def expire_negative_faces(session: Session, now: datetime, retention: timedelta) -> int:
    """Remove the negatives (faces triaged as false matches) kept longer than `retention`."""
    return _delete(session, sa.delete(NegativeFace).where(col(NegativeFace.created_at) < now - retention))


def expire_closed_alert_crops(session: Session, now: datetime, retention: timedelta) -> int:
    """Remove the face crops (and the face encodings) of alerts closed as a false match or dismissed more than
    `retention` ago."""
    closed = select(Alert.detection_id).where(
        col(Alert.status).in_(CLOSED_WITHOUT_IMPERSONATION),
        Alert.updated_at < now - retention,
        col(Alert.detection_id).is_not(None),
    )
    return _delete_crops(session, closed)


def _delete_crops(session: Session, detection_ids: sa.Select) -> int:
    """Remove the crops of these detections, and the encodings of their faces with them; how many crops went."""
    session.exec(
        sa.update(Detection)
        .where(col(Detection.id).in_(detection_ids), col(Detection.encoding).is_not(None))
        .values(encoding=None)
    )
    statement = (
        sa.update(Detection)
        .where(col(Detection.id).in_(detection_ids), col(Detection.crop_jpeg).is_not(None))
        .values(crop_jpeg=None)
    )
    return session.exec(statement).rowcount or 0
