"""FastAPI dependencies, routers and answer declarations every domain's routes share."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlmodel import Session

from core.errors import TooLarge
from core.schemas import Refusal
from core.scope import Scope
from core.strict_json import loads_strict
from core.text import utf8


class SafeJSONResponse(JSONResponse):
    """JSON whose text, if it holds a lone surrogate (text stored before input was held to `core.text`'s rule), is
    sent with U+FFFD in its place rather than failing the whole answer."""

    def render(self, content: Any) -> bytes:
        return utf8(json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")))


class StrictJsonRequest(Request):
    """A request whose JSON body is decoded by `core.strict_json.loads_strict`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is decoded strictly before FastAPI reads it, so a refusal answers 422 with its `code`
    (FastAPI would turn an error raised while it parses into a bare 400). The body is read once, through whatever
    caps it (`GuardBodies`), and the parsed value is what FastAPI validates."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict_handler(request: Request) -> Response:
            strict = StrictJsonRequest(request.scope, request.receive)
            if _is_json(strict.headers.get("content-type", "")) and await strict.body():
                await strict.json()
            return await handler(strict)

        return strict_handler


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return not media_type or media_type == "application/json" or media_type.endswith("+json")


def api_router(**options: Any) -> APIRouter:
    """The router every domain's routes are declared on: strict JSON bodies, and answers that survive bad stored
    text (`SafeJSONResponse`; a route may still name its own `response_class`)."""
    return APIRouter(route_class=StrictJsonRoute, default_response_class=SafeJSONResponse, **options)


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
