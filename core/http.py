"""FastAPI dependencies and answer declarations every domain's routes share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request, UploadFile
from sqlmodel import Session

from core.errors import TooLarge
from core.schemas import Refusal
from core.scope import Scope


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; the route commits, anything uncommitted is rolled back on close."""
    with Session(request.app.state.db_engine, expire_on_commit=False) as session:
        session.info["scope"] = getattr(request.state, "scope", None)
        yield session


def get_scope(request: Request) -> Scope:
    """Whose objects the caller sees, set by the service's authorisation before any route runs."""
    return request.state.scope


SessionDep = Annotated[Session, Depends(get_session)]
ScopeDep = Annotated[Scope, Depends(get_scope)]
MAX_OFFSET = 1_000_000_000
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many to skip")]
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {"model": Refusal, "description": "No such object"},
    422: {"model": Refusal, "description": "The input was refused; `code` says why"},
}


def read_upload(upload: UploadFile, max_bytes: int) -> bytes:
    """The upload's bytes, refused with 413 past `max_bytes` (the rest of the stream is never read)."""
    data = upload.file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge("upload_too_large", f"the upload is larger than {max_bytes} bytes")
    return data
