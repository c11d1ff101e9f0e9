"""HTTP routes for scans: upload a photo or a video and get the faces and matches in it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from watchers import service
from watchers.schemas import ScanResult
from watchlist.routes import REFUSALS, FaceEngineDep, SessionDep, UploadTooLarge
from watchlist.schemas import Refusal

router = APIRouter(prefix="/v1/scans", tags=["scans"])
_COPY_CHUNK = 1024 * 1024


def save_upload(upload: UploadFile, folder: Path, max_bytes: int) -> Path:
    """Stream an upload to a temporary file, refusing it (413) once it passes `max_bytes`."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix="scan-", delete=False) as target:
        path = Path(target.name)
        written = 0
        try:
            while chunk := upload.file.read(_COPY_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise UploadTooLarge("upload_too_large", f"the upload is larger than {max_bytes} bytes")
                target.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    return path


@router.post("", response_model=ScanResult, responses={**REFUSALS, 413: {"model": Refusal}})
def scan_upload(
    request: Request,
    session: SessionDep,
    engine: FaceEngineDep,
    file: Annotated[UploadFile, File(description="A photo or a video (decided by content, not by name)")],
) -> ScanResult:
    """Find the faces in a photo or video and who they match. Nothing is stored."""
    state = request.app.state
    path = save_upload(file, state.settings.data_dir / "tmp", state.settings.max_upload_bytes)
    try:
        return service.scan_file(session, path, engine, state.matchers, state.settings.frame_sampling)
    finally:
        path.unlink(missing_ok=True)
