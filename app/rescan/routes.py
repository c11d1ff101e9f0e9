"""HTTP routes of re-scans. Thin: check the scope, start or read the background re-scan."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import Request, status

from app.rescan import service
from app.rescan.jobs import RescanRegistry
from app.rescan.models import Rescan
from app.rescan.schemas import RescanCreate, RescanRead
from core.clock import utcnow
from core.errors import InputRejected, NotFound
from core.http import REFUSALS, ScopeDep, SessionDep, api_router
from watchlist.service import get_person

router = api_router(prefix="/v1/rescans", tags=["rescans"])


def _registry(request: Request) -> RescanRegistry:
    return request.app.state.rescans


def _read(request: Request, rescan: Rescan) -> RescanRead:
    stale_after = timedelta(seconds=request.app.state.settings.rescan_stale_seconds)
    return RescanRead.of(rescan, service.state_of(rescan, utcnow(), stale_after))


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=RescanRead, responses=REFUSALS)
def start_rescan(data: RescanCreate, request: Request, session: SessionDep, scope: ScopeDep) -> RescanRead:
    """Re-analyse kept media (`IMPWATCH_KEEP_MEDIA`) against the current watchlist and thresholds in the background,
    so a person enrolled today is found in earlier posts; poll `GET /v1/rescans/{id}` for progress."""
    if data.person_id is None and scope.organization_id is not None:
        raise InputRejected("person_required", "an organisation re-scans for one of its people: give person_id")
    if data.person_id is not None:
        get_person(session, data.person_id, scope)
    rescan = service.start_rescan(session, data.person_id, data.since)
    session.commit()
    _registry(request).start(rescan.id)
    return _read(request, rescan)


@router.get("/{rescan_id}", response_model=RescanRead, responses=REFUSALS)
def get_rescan(rescan_id: uuid.UUID, request: Request, session: SessionDep, scope: ScopeDep) -> RescanRead:
    rescan = service.get_rescan(session, rescan_id)
    if rescan.person_id is not None:
        get_person(session, rescan.person_id, scope)
    elif scope.organization_id is not None:
        raise NotFound(f"re-scan {rescan_id} not found")
    return _read(request, rescan)
