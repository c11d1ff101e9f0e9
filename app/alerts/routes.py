"""HTTP routes of alerts. Thin: parse, call the service, commit, shape the answer."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import Query, Request, Response
from sqlmodel import Session

from app.alerts import service
from app.alerts.models import Alert
from app.alerts.schemas import (
    AlertDetail,
    AlertFilter,
    AlertKind,
    AlertPageRead,
    AlertStatus,
    AlertSummary,
    AlertTier,
    AlertUpdate,
    ClusterRead,
    OccurrenceRead,
)
from core.errors import NotFound
from core.http import REFUSALS, ScopeDep, SessionDep, api_router
from core.schemas import UtcInstant
from core.scope import Scope
from watchlist.service import person_names

router = api_router(prefix="/v1/alerts", tags=["alerts"])


def alert_summary(alert: Alert, person_name: str, has_crop: bool) -> AlertSummary:
    return AlertSummary.of(alert, person_name, f"/v1/alerts/{alert.id}/crop.jpg" if has_crop else None)


@router.get("", response_model=AlertPageRead, responses=REFUSALS)
def list_alerts(
    session: SessionDep,
    scope: ScopeDep,
    person_id: uuid.UUID | None = None,
    kind: Annotated[list[AlertKind] | None, Query(description="Repeat for several")] = None,
    status: Annotated[list[AlertStatus] | None, Query(description="Repeat for several")] = None,
    tier: Annotated[list[AlertTier] | None, Query(description="match, possible; repeat for both")] = None,
    watch_id: uuid.UUID | None = None,
    since: UtcInstant | None = None,
    until: UtcInstant | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AlertPageRead:
    """Alerts, newest first, filtered; page with `next_cursor`."""
    filters = AlertFilter(
        person_id=person_id, kind=kind, status=status, tier=tier, watch_id=watch_id, since=since, until=until
    )
    page = service.list_alerts(session, filters, limit, cursor, scope)
    names = person_names(session, {alert.person_id for alert in page.alerts})
    cropped = service.detections_with_crops(session, page.alerts)
    items = [
        alert_summary(alert, names.get(alert.person_id, ""), alert.detection_id in cropped) for alert in page.alerts
    ]
    return AlertPageRead(items=items, next_cursor=page.next_cursor)


@router.get("/{alert_id}", response_model=AlertDetail, responses=REFUSALS)
def get_alert(alert_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> AlertDetail:
    """One alert with its evidence: where it was posted, the post text, the kind's evidence (for a face: the best
    match, the frames and the crop; for text: the span and why it matched), and the other alerts of its posts."""
    return _detail(session, service.get_alert(session, alert_id, scope), scope)


def _detail(session: Session, alert: Alert, scope: Scope) -> AlertDetail:
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
    summary = alert_summary(alert, name, bool(service.detections_with_crops(session, [alert])))
    related = service.related_alert_ids(session, alert, scope)
    found = service.cluster_of(session, alert)
    cluster = ClusterRead(copies=len(found.sha256s), **dataclasses.asdict(found)) if found is not None else None
    return AlertDetail(**summary.model_dump(), occurrences=occurrences, related_alert_ids=related, cluster=cluster)


@router.get("/{alert_id}/crop.jpg", response_class=Response, responses=REFUSALS)
def get_alert_crop(alert_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> Response:
    """The matched face, cropped from the media, as JPEG (face alerts, while the crop is kept)."""
    crop = service.face_crop(session, service.get_alert(session, alert_id, scope))
    if not crop:
        raise NotFound(f"alert {alert_id} has no face crop")
    return Response(content=crop, media_type="image/jpeg")


@router.patch("/{alert_id}", response_model=AlertDetail, responses=REFUSALS)
def triage_alert(
    alert_id: uuid.UUID, data: AlertUpdate, session: SessionDep, scope: ScopeDep, request: Request
) -> AlertDetail:
    """Triage: set the status (new, confirmed_impersonation, authentic, false_match, dismissed) and a note."""
    public_base_url = request.app.state.settings.public_base_url
    alert = service.triage(session, service.get_alert(session, alert_id, scope), data, public_base_url=public_base_url)
    session.commit()
    return _detail(session, alert, scope)
