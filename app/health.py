"""Health checks: liveness, and readiness (database migrated, face models present, the broker answering)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.db import schema_is_current
from core.http import api_router

router = api_router(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready; `checks` says what failed"}})
def readyz(request: Request) -> JSONResponse:
    """Readiness: the database answers and its schema is at the latest migration; the face models are loaded; the
    broker answers, when one is configured (`IMPWATCH_BROKER_URL`)."""
    checks = {"database": _database_check(request), "face_models": _face_model_check(request)}
    if request.app.state.settings.broker_url:
        checks["broker"] = _broker_check(request)
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


def _database_check(request: Request) -> str:
    try:
        return "ok" if schema_is_current(request.app.state.db_engine) else "schema is not at the latest migration"
    except SQLAlchemyError as exc:
        return f"unreachable: {exc.__class__.__name__}"


def _broker_check(request: Request) -> str:
    try:
        request.app.state.runtime.task_queue.depths()
    except Exception as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return "ok"


def _face_model_check(request: Request) -> str:
    engine = request.app.state.face_engine
    if engine.model_version == "unknown":
        return "face models are not installed"
    return engine.detector_missing() or "ok"
