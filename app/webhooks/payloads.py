"""Event bodies: a versioned JSON envelope around the alert, the person, the permalinks and links back here.

Only what a press office needs to act: never face encodings, never image bytes (the crop is a link).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from app.alerts.models import Alert, AlertOccurrence
from app.alerts.schemas import AlertSummary
from core.text import without_lone_surrogates
from watchers.models import Detection, Watch
from watchlist.models import Person

PAYLOAD_VERSION = 2
"""2: the alert is kind-neutral (`kind`, `subject_key`, `tier`, `priority`, the kind's `evidence`); 1 had a face's
`media_kind`, `sha256` and `best_distance` on the alert itself."""
MAX_OCCURRENCES = 50


def envelope(message_id: str, event_type: str, created_at: datetime, data: dict[str, object]) -> str:
    """The body sent, as text: `{"id", "type", "version", "timestamp", "data"}` (the spec's recommended shape). Text
    stored before lone surrogates were refused (an alias, say) is sent with U+FFFD in their place, so the body can
    always be stored and sent as UTF-8."""
    body = {
        "id": message_id,
        "type": event_type,
        "version": PAYLOAD_VERSION,
        "timestamp": created_at.isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return without_lone_surrogates(json.dumps(body, ensure_ascii=False, separators=(",", ":")))


def alert_data(session: Session, alert: Alert, public_base_url: str, changed: Sequence[str]) -> dict[str, object]:
    person = session.get(Person, alert.person_id)
    name = person.display_name if person else ""
    alert_url = _url(public_base_url, f"/v1/alerts/{alert.id}")
    crop_url = f"{alert_url}/crop.jpg" if _has_crop(session, alert.detection_id) else None
    return {
        "alert": {**_alert_summary(alert, name, crop_url), "url": alert_url},
        "person": _person(person, alert.person_id),
        "occurrences": _occurrences(session, alert.id),
        "crop_url": crop_url,
        "changed": list(changed),
    }


def _alert_summary(alert: Alert, person_name: str, crop_url: str | None) -> dict[str, object]:
    """The alert as the API shows it, without where a face is in the picture (the crop link is enough to act)."""
    return AlertSummary.of(alert, person_name, crop_url).model_dump(mode="json", exclude={"evidence": {"box"}})


def watch_failed_data(watch: Watch, error: Exception, public_base_url: str) -> dict[str, object]:
    return {
        "watch": {
            "id": str(watch.id),
            "kind": watch.kind,
            "target": watch.target,
            "state": watch.state,
            "last_error": watch.last_error,
            "consecutive_failures": watch.consecutive_failures,
            "retry_at": watch.retry_at.isoformat() if watch.retry_at else None,
            "last_success_at": watch.last_success_at.isoformat() if watch.last_success_at else None,
            "url": _url(public_base_url, f"/v1/watches/{watch.id}"),
        },
        "error": (str(error) or error.__class__.__name__)[:2000],
    }


def webhook_test_data(endpoint_id: uuid.UUID) -> dict[str, object]:
    return {"endpoint_id": str(endpoint_id), "message": "A test event from Impersonation Watch."}


def _person(person: Person | None, person_id: uuid.UUID) -> dict[str, object]:
    if person is None:
        return {"id": str(person_id), "display_name": "", "aliases": [], "role_title": None}
    return {
        "id": str(person.id),
        "display_name": person.display_name,
        "aliases": list(person.aliases),
        "role_title": person.role_title,
    }


def _occurrences(session: Session, alert_id: uuid.UUID) -> list[dict[str, object]]:
    """Where the media was posted, oldest first (the first `MAX_OCCURRENCES`; the alert carries the count)."""
    rows = session.exec(
        select(AlertOccurrence)
        .where(AlertOccurrence.alert_id == alert_id)
        .order_by(col(AlertOccurrence.posted_at), col(AlertOccurrence.id))
        .limit(MAX_OCCURRENCES)
    )
    return [
        {
            "channel": row.channel,
            "permalink": row.permalink,
            "posted_at": row.posted_at.isoformat(),
            "official": row.official,
            "watch_id": str(row.watch_id),
        }
        for row in rows
    ]


def _has_crop(session: Session, detection_id: uuid.UUID | None) -> bool:
    if detection_id is None:
        return False
    statement = select(Detection.id).where(Detection.id == detection_id, col(Detection.crop_jpeg).is_not(None))
    return session.exec(statement).first() is not None


def _url(public_base_url: str, path: str) -> str:
    return public_base_url.rstrip("/") + path
