"""HTTP routes for candidate channels: list them, watch one."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, status

from core.http import REFUSALS, SessionDep, api_router
from watchers.channels import service
from watchers.channels.models import CandidateChannel
from watchers.channels.schemas import CandidateRead, CandidateWatch
from watchers.models import Watch
from watchers.schemas import WatchRead

router = api_router(prefix="/v1/channels", tags=["channels"])


@router.get("/candidates", response_model=list[CandidateRead])
def list_candidates(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    include_watched: bool = False,
) -> list[CandidateChannel]:
    """Channels the watched posts point to (forwards, t.me links, @mentions): those involved in alerts first, then
    the most recently seen. Where a campaign comes from."""
    return service.list_candidates(session, limit, include_watched)


@router.post(
    "/candidates/{candidate_id}/watch",
    status_code=status.HTTP_201_CREATED,
    response_model=WatchRead,
    responses=REFUSALS,
)
def watch_candidate(
    request: Request, candidate_id: str, session: SessionDep, data: CandidateWatch | None = None
) -> Watch:
    """Watch a candidate (by id or username) with one call."""
    choice = data or CandidateWatch()
    watch = service.watch_candidate(
        session,
        service.find_candidate(session, candidate_id),
        request.app.state.runtime.watch_intervals,
        kind=choice.kind,
        interval_seconds=choice.interval_seconds,
        since=choice.since,
    )
    session.commit()
    return watch
