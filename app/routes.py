"""HTTP routes of the service: health and alerts. Thin: parse, call the service, commit, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app import service
from app.db import schema_is_current
from app.models import Alert
from app.schemas import (
    AlertDetail,
    AlertFilter,
    AlertPageRead,
    AlertStatus,
    AlertSummary,
    AlertUpdate,
    EvidenceRead,
    OccurrenceRead,
)
from core.errors import NotFound
from core.http import REFUSALS, ScopeDep, SessionDep
from core.schemas import UtcInstant
from watchlist.schemas import FaceBox
from watchlist.service import person_names

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready; `checks` says what failed"}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is at the latest migration; the face models are loaded."""
    checks = {"database": _database_check(request), "face_models": _face_model_check(request)}
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


def _database_check(request: Request) -> str:
    try:
        return "ok" if schema_is_current(request.app.state.db_engine) else "schema is not at the latest migration"
    except SQLAlchemyError as exc:
        return f"unreachable: {exc.__class__.__name__}"


def _face_model_check(request: Request) -> str:
    return "ok" if request.app.state.face_engine.model_version != "unknown" else "face models are not installed"


alerts = APIRouter(prefix="/v1/alerts", tags=["alerts"])


def _summary(alert: Alert, person_name: str) -> AlertSummary:
    return AlertSummary(**alert.model_dump(), person_name=person_name)


@alerts.get("", response_model=AlertPageRead, responses=REFUSALS)
def list_alerts(
    session: SessionDep,
    scope: ScopeDep,
    person_id: uuid.UUID | None = None,
    status: Annotated[list[AlertStatus] | None, Query(description="Repeat for several")] = None,
    watch_id: uuid.UUID | None = None,
    since: UtcInstant | None = None,
    until: UtcInstant | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AlertPageRead:
    """Alerts, newest first, filtered; page with `next_cursor`."""
    filters = AlertFilter(person_id=person_id, status=status, watch_id=watch_id, since=since, until=until)
    page = service.list_alerts(session, filters, limit, cursor, scope)
    names = person_names(session, {alert.person_id for alert in page.alerts})
    return AlertPageRead(
        items=[_summary(alert, names.get(alert.person_id, "")) for alert in page.alerts], next_cursor=page.next_cursor
    )


@alerts.get("/{alert_id}", response_model=AlertDetail, responses=REFUSALS)
def get_alert(alert_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> AlertDetail:
    """One alert with its evidence: where it was posted, the post text, the best match and the frames."""
    alert = service.get_alert(session, alert_id, scope)
    return _detail(session, alert)


def _detail(session: Session, alert: Alert) -> AlertDetail:
    detection = service.detection_of(session, alert)
    evidence = EvidenceRead(
        reference_face_id=detection.reference_face_id if detection else None,
        box=FaceBox(**detection.box) if detection and detection.box else None,
        best_timestamp=detection.best_timestamp if detection else None,
        timestamps=detection.timestamps if detection else [],
        frames_matched=detection.frames_matched if detection else 0,
        crop_url=f"/v1/alerts/{alert.id}/crop.jpg" if detection and detection.crop_jpeg else None,
    )
    occurrences = [
        OccurrenceRead(
            channel=occurrence.channel,
            permalink=occurrence.permalink,
            posted_at=occurrence.posted_at,
            official=occurrence.official,
            watch_id=occurrence.watch_id,
            post_text=post.text,
            forwarded_from=post.forwarded_from,
        )
        for occurrence, post in service.occurrences(session, alert)
    ]
    name = person_names(session, {alert.person_id}).get(alert.person_id, "")
    return AlertDetail(**_summary(alert, name).model_dump(), occurrences=occurrences, evidence=evidence)


@alerts.get("/{alert_id}/crop.jpg", response_class=Response, responses=REFUSALS)
def get_alert_crop(alert_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> Response:
    """The matched face, cropped from the media, as JPEG."""
    detection = service.detection_of(session, service.get_alert(session, alert_id, scope))
    if detection is None or not detection.crop_jpeg:
        raise NotFound(f"alert {alert_id} has no face crop")
    return Response(content=detection.crop_jpeg, media_type="image/jpeg")


@alerts.patch("/{alert_id}", response_model=AlertDetail, responses=REFUSALS)
def triage_alert(
    alert_id: uuid.UUID, data: AlertUpdate, session: SessionDep, scope: ScopeDep, request: Request
) -> AlertDetail:
    """Triage: set the status (new, confirmed_impersonation, authentic, false_match, dismissed) and a note."""
    public_base_url = request.app.state.settings.public_base_url
    alert = service.triage(session, service.get_alert(session, alert_id, scope), data, public_base_url=public_base_url)
    session.commit()
    return _detail(session, alert)
