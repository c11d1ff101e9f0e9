"""The FastAPI application: built by `create_app` from settings, so tests and the CLI build the same app."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app import routes as health_routes
from app.runtime import Runtime
from app.settings import Settings
from watchers import routes as scan_routes
from watchlist import routes as person_routes
from watchlist.errors import InputRejected
from watchlist.service import NotFound

API_DESCRIPTION = """
Impersonation Watch finds enrolled people's faces in photos and videos (and, with watches, in public Telegram
channels). Errors answer `{"code": ..., "detail": ...}`: `code` is stable for programs, `detail` is for people.
"""


def create_app(runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the database must already be migrated (`impwatch db upgrade`, or `impwatch serve`)."""
    runtime = runtime or Runtime.from_settings(Settings())
    app = FastAPI(title="Impersonation Watch", version="0.1.0", description=API_DESCRIPTION)
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    app.state.db_engine = runtime.db_engine
    app.state.face_engine = runtime.face_engine
    app.state.enrolment_policy = runtime.enrolment_policy
    app.state.matchers = runtime.matchers
    app.include_router(health_routes.router)
    app.include_router(person_routes.router)
    app.include_router(scan_routes.router)
    app.add_exception_handler(InputRejected, _input_rejected)
    app.add_exception_handler(NotFound, _not_found)
    return app


async def _input_rejected(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputRejected)
    return JSONResponse({"code": exc.code, "detail": exc.message}, status_code=exc.status_code)


async def _not_found(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"code": "not_found", "detail": str(exc)}, status_code=404)
