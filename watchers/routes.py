"""HTTP routes for scans (upload a photo or a video, get the faces and matches) and for watches."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import File, Request, Response, UploadFile, status

from core.errors import TooLarge
from core.http import REFUSALS, ScopeDep, SessionDep, api_router
from core.schemas import Refusal
from watchers import analysis, service
from watchers.models import Watch
from watchers.schemas import ScanResult, WatchCreate, WatchRead, WatchUpdate
from watchers.sources.base import MediaTooLarge
from watchers.sources.helpers import copy_capped, read_chunks

router = api_router(prefix="/v1/scans", tags=["scans"])


def save_upload(upload: UploadFile, folder: Path, max_bytes: int) -> Path:
    """Stream an upload to a temporary file, refusing it (413) once it passes `max_bytes`."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix="scan-", delete=False) as target:
        path = Path(target.name)
        try:
            copy_capped(read_chunks(upload.file), target, max_bytes)
        except MediaTooLarge as exc:
            path.unlink(missing_ok=True)
            raise TooLarge("upload_too_large", f"the upload is larger than {max_bytes} bytes") from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return path


@router.post("", response_model=ScanResult, responses={**REFUSALS, 413: {"model": Refusal}})
def scan_upload(
    request: Request,
    session: SessionDep,
    scope: ScopeDep,
    file: Annotated[UploadFile, File(description="A photo or a video (decided by content, not by name)")],
) -> ScanResult:
    """Find the faces in a photo or video and which of the caller's organisation's people they match. Nothing is
    stored."""
    state = request.app.state
    path = save_upload(file, state.settings.data_dir / "tmp", state.settings.max_upload_bytes)
    try:
        return analysis.scan_file(session, path, state.runtime.workers, state.matchers, scope.organization_id)
    finally:
        path.unlink(missing_ok=True)


watches = api_router(prefix="/v1/watches", tags=["watches"])


@watches.post("", status_code=status.HTTP_201_CREATED, response_model=WatchRead, responses={409: {"model": Refusal}})
def create_watch(request: Request, data: WatchCreate, session: SessionDep) -> Watch:
    """Watch a channel, an export folder or a drop folder; the scheduler picks it up within seconds."""
    watch = service.create_watch(session, data, request.app.state.runtime.watch_intervals)
    session.commit()
    return watch


@watches.get("", response_model=list[WatchRead])
def list_watches(session: SessionDep) -> list[Watch]:
    return service.list_watches(session)


@watches.get("/{watch_id}", response_model=WatchRead, responses=REFUSALS)
def get_watch(watch_id: uuid.UUID, session: SessionDep) -> Watch:
    return service.get_watch(session, watch_id)


@watches.patch("/{watch_id}", response_model=WatchRead, responses=REFUSALS)
def update_watch(request: Request, watch_id: uuid.UUID, data: WatchUpdate, session: SessionDep) -> Watch:
    """Change the interval, pause (`enabled: false`) or resume (`enabled: true`, which also clears an error)."""
    watch = service.update_watch(
        session, service.get_watch(session, watch_id), data, request.app.state.runtime.watch_intervals
    )
    session.commit()
    return watch


@watches.post("/{watch_id}/run", status_code=status.HTTP_202_ACCEPTED, response_model=WatchRead, responses=REFUSALS)
def run_watch_now(watch_id: uuid.UUID, session: SessionDep) -> Watch:
    """Run the watch at once (the scheduler starts it within its sync interval)."""
    watch = service.request_run(session, service.get_watch(session, watch_id))
    session.commit()
    return watch


@watches.delete("/{watch_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSALS)
def delete_watch(watch_id: uuid.UUID, session: SessionDep) -> Response:
    service.delete_watch(session, service.get_watch(session, watch_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
