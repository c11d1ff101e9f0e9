"""The FastAPI application: built by `create_app` from settings, so tests and the CLI build the same app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from app import health, metrics
from app.alerts import routes as alert_routes
from app.auth import routes as access_routes
from app.auth.ratelimit import RateLimiter
from app.auth.rules import GuardBodies, authorize, is_console_route
from app.console import pages as console_pages
from app.console import routes as console_routes
from app.notifications import routes as notification_routes
from app.rescan import routes as rescan_routes
from app.rescan.jobs import Rescanner, RescanRegistry
from app.runtime import Runtime
from app.scheduling import scheduled_work
from app.settings import Settings
from app.webhooks import routes as webhook_routes
from core.errors import AppError
from core.http import SafeJSONResponse
from watchers import routes as scan_routes
from watchers.channels import routes as channel_routes
from watchlist import routes as person_routes

API_DESCRIPTION = """
Impersonation Watch finds enrolled people's faces in photos and videos (and, with watches, in public Telegram
channels), and raises alerts of several kinds (`face_match` today; `phone_number`, `name_mention` and
`lookalike_domain` share the same alert, with the kind's evidence). Every route but the health checks and redeeming
an invitation needs an API key, sent as `Authorization: Bearer <key>`; `/metrics` needs an operator's. This
documentation (`/openapi.json`, `/docs`, `/redoc`) is public. A key sees only
its own organisation's objects.

Errors answer `{"code": ..., "detail": ...}`: `code` is stable for programs, `detail` is for people. A request that
does not fit the documented shape answers 422 `invalid_input`, with each problem in `errors` (`loc`, `msg`, `type`);
a JSON body that is not strict JSON answers 422 `invalid_json`, `non_finite_number` (NaN, Infinity, 1e400),
`invalid_unicode` (a lone surrogate) or `json_too_deep`.
"""
MAX_LISTED_ERRORS = 20


def create_app(runtime: Runtime | None = None, with_scheduler: bool = False) -> FastAPI:
    """Build the app; the database must already be migrated (`impwatch db upgrade`, or `impwatch serve`).

    With `with_scheduler` (as `impwatch serve` does when the setting allows), the watch scheduler and the webhook
    dispatcher run in this process from start-up to shutdown.
    """
    runtime = runtime or Runtime.from_settings(Settings())

    rescans = RescanRegistry(
        Rescanner(
            runtime.db_engine, runtime.media_store, runtime.workers, runtime.matchers, runtime.settings.public_base_url
        )
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            if not with_scheduler:
                yield
                return
            with scheduled_work(runtime):
                yield
        finally:
            rescans.close()

    app = FastAPI(
        title="Impersonation Watch",
        version="0.1.0",
        description=API_DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(authorize)],
        default_response_class=SafeJSONResponse,
    )
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    app.state.db_engine = runtime.db_engine
    app.state.face_engine = runtime.face_engine
    app.state.enrolment_policy = runtime.enrolment_policy
    app.state.matchers = runtime.matchers
    app.state.webhook_url_policy = runtime.webhook_url_policy
    app.state.rate_limiter = RateLimiter(runtime.settings.scan_rate_per_minute)
    app.state.login_limiter = RateLimiter(runtime.settings.login_attempts_per_minute)
    app.state.page_refusal = console_pages.page_refusal
    app.state.rescans = rescans
    app.include_router(health.router)
    app.include_router(person_routes.router)
    app.include_router(scan_routes.router)
    app.include_router(scan_routes.watches)
    app.include_router(channel_routes.router)
    app.include_router(alert_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(notification_routes.router)
    app.include_router(access_routes.router)
    app.include_router(metrics.router)
    app.include_router(console_routes.router)
    app.include_router(console_routes.changes)
    app.mount("/static", StaticFiles(directory=console_pages.HERE / "static"), name="static")
    app.include_router(rescan_routes.router)
    app.add_middleware(GuardBodies)
    app.middleware("http")(metrics.record_http_metrics)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _invalid_input)
    return app


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    if is_console_route(request.method, getattr(request.scope.get("route"), "path", "")):
        return console_pages.error_page(request, exc)
    return SafeJSONResponse({"code": exc.code, "detail": exc.message}, status_code=exc.status_code, headers=exc.headers)


async def _invalid_input(_request: Request, exc: Exception) -> JSONResponse:
    """422 `invalid_input` in the shape of every refusal; each problem with where it is, never the input itself
    (which may be large, or text that cannot be sent back)."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": error.get("type"),
        }
        for error in exc.errors()[:MAX_LISTED_ERRORS]
    ]
    detail = "; ".join(f"{'.'.join(error['loc'])}: {error['msg']}" for error in errors) or "the request was refused"
    return SafeJSONResponse({"code": "invalid_input", "detail": detail, "errors": errors}, status_code=422)
