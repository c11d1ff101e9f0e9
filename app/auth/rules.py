"""Who may call which route: one rule per route, checked on every request. A route without a rule is refused
(deny by default), and the access matrix test fails for it, so a new route cannot ship without a decision.

Roles: `operator` runs the installation (organisations, watches, operator keys); `org_admin` runs its organisation
(people, keys, webhooks and notification channels, invitations); `org_member` reads and triages alerts and scans;
`subject` is a self-enrolled person (their own faces and alerts). Which objects a role sees inside a route is the
scope's job (404 otherwise).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.engine import Engine
from sqlmodel import Session, col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.routing import compile_path, get_route_path
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as ASGIScope

from app.auth import service
from app.auth.models import ApiKey
from app.db import SQLITE_BUSY_TIMEOUT_MS
from core.clock import utcnow
from core.errors import AppError, TooLarge
from core.scope import Scope

PUBLIC: frozenset[str] = frozenset()
OPERATOR = frozenset({"operator"})
ADMIN = frozenset({"org_admin"})
TEAM = frozenset({"org_admin", "org_member"})
TEAM_AND_SUBJECT = TEAM | {"subject"}
ADMIN_AND_SUBJECT = ADMIN | {"subject"}
OPERATOR_AND_TEAM = OPERATOR | TEAM
OPERATOR_AND_ADMIN = OPERATOR | ADMIN

RULES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): OPERATOR,
    ("POST", "/v1/persons"): ADMIN,
    ("GET", "/v1/persons"): TEAM_AND_SUBJECT,
    ("GET", "/v1/persons/{person_id}"): TEAM_AND_SUBJECT,
    ("PATCH", "/v1/persons/{person_id}"): ADMIN,
    ("DELETE", "/v1/persons/{person_id}"): ADMIN_AND_SUBJECT,
    ("POST", "/v1/persons/{person_id}/faces"): ADMIN_AND_SUBJECT,
    ("GET", "/v1/persons/{person_id}/faces"): TEAM_AND_SUBJECT,
    ("GET", "/v1/persons/{person_id}/faces/{face_id}/crop.jpg"): TEAM_AND_SUBJECT,
    ("DELETE", "/v1/persons/{person_id}/faces/{face_id}"): ADMIN_AND_SUBJECT,
    ("GET", "/v1/persons/{person_id}/calibration"): TEAM_AND_SUBJECT,
    ("POST", "/v1/rescans"): OPERATOR_AND_ADMIN,
    ("GET", "/v1/rescans/{rescan_id}"): OPERATOR_AND_ADMIN,
    ("GET", "/v1/persons/{person_id}/negatives"): TEAM_AND_SUBJECT,
    ("POST", "/v1/scans"): TEAM,
    ("POST", "/v1/watches"): OPERATOR,
    ("GET", "/v1/watches"): OPERATOR_AND_TEAM,
    ("GET", "/v1/watches/{watch_id}"): OPERATOR_AND_TEAM,
    ("PATCH", "/v1/watches/{watch_id}"): OPERATOR,
    ("POST", "/v1/watches/{watch_id}/run"): OPERATOR,
    ("DELETE", "/v1/watches/{watch_id}"): OPERATOR,
    ("GET", "/v1/channels/candidates"): OPERATOR,
    ("POST", "/v1/channels/candidates/{candidate_id}/watch"): OPERATOR,
    ("GET", "/v1/alerts"): TEAM_AND_SUBJECT,
    ("GET", "/v1/alerts/{alert_id}"): TEAM_AND_SUBJECT,
    ("GET", "/v1/alerts/{alert_id}/crop.jpg"): TEAM_AND_SUBJECT,
    ("PATCH", "/v1/alerts/{alert_id}"): TEAM,
    ("POST", "/v1/organizations"): OPERATOR,
    ("GET", "/v1/organizations"): OPERATOR,
    ("POST", "/v1/keys"): OPERATOR_AND_ADMIN,
    ("GET", "/v1/keys"): OPERATOR_AND_ADMIN,
    ("DELETE", "/v1/keys/{key_id}"): OPERATOR_AND_ADMIN,
    ("POST", "/v1/invitations"): ADMIN,
    ("POST", "/v1/invitations/redeem"): PUBLIC,
    ("GET", "/v1/audit"): OPERATOR_AND_ADMIN,
    ("POST", "/v1/webhooks"): ADMIN,
    ("GET", "/v1/webhooks"): ADMIN,
    ("GET", "/v1/webhooks/{endpoint_id}"): ADMIN,
    ("PATCH", "/v1/webhooks/{endpoint_id}"): ADMIN,
    ("DELETE", "/v1/webhooks/{endpoint_id}"): ADMIN,
    ("POST", "/v1/webhooks/{endpoint_id}/rotate-secret"): ADMIN,
    ("POST", "/v1/webhooks/{endpoint_id}/test"): ADMIN,
    ("GET", "/v1/webhooks/{endpoint_id}/deliveries"): ADMIN,
    ("GET", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}"): ADMIN,
    ("POST", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry"): ADMIN,
    ("POST", "/v1/notifications/channels"): ADMIN,
    ("GET", "/v1/notifications/channels"): ADMIN,
    ("GET", "/v1/notifications/channels/{channel_id}"): ADMIN,
    ("PATCH", "/v1/notifications/channels/{channel_id}"): ADMIN,
    ("DELETE", "/v1/notifications/channels/{channel_id}"): ADMIN,
    ("POST", "/v1/notifications/channels/{channel_id}/test"): ADMIN,
    ("GET", "/v1/notifications/channels/{channel_id}/deliveries"): ADMIN,
    ("POST", "/v1/notifications/channels/{channel_id}/deliveries/{delivery_id}/retry"): ADMIN,
}
CONSOLE_RULES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): OPERATOR_AND_TEAM | {"subject"},
    ("GET", "/language"): PUBLIC,
    ("GET", "/password/{token}"): PUBLIC,
    ("POST", "/password/{token}"): PUBLIC,
    ("GET", "/alerts"): TEAM_AND_SUBJECT,
    ("GET", "/alerts/{alert_id}"): TEAM_AND_SUBJECT,
    ("POST", "/alerts/{alert_id}/triage"): TEAM,
    ("GET", "/alerts/{alert_id}/crop.jpg"): TEAM_AND_SUBJECT,
    ("GET", "/alerts/{alert_id}/reference.jpg"): TEAM_AND_SUBJECT,
    ("GET", "/alerts/{alert_id}/media/{media_item_id}"): TEAM_AND_SUBJECT,
    ("GET", "/alerts/{alert_id}/evidence.zip"): TEAM_AND_SUBJECT,
    ("GET", "/people"): TEAM_AND_SUBJECT,
    ("GET", "/people/new"): ADMIN,
    ("POST", "/people"): ADMIN,
    ("POST", "/people/check-photos"): ADMIN,
    ("GET", "/people/{person_id}"): TEAM_AND_SUBJECT,
    ("POST", "/people/{person_id}"): ADMIN,
    ("GET", "/people/{person_id}/faces/{face_id}/crop.jpg"): TEAM_AND_SUBJECT,
    ("POST", "/people/{person_id}/erase"): ADMIN_AND_SUBJECT,
    ("POST", "/people/{person_id}/rescan"): ADMIN,
    ("GET", "/invitations"): ADMIN,
    ("POST", "/invitations"): ADMIN,
    ("GET", "/enrol/{token}"): PUBLIC,
    ("POST", "/enrol/{token}/check-photos"): PUBLIC,
    ("POST", "/enrol/{token}"): PUBLIC,
    ("GET", "/users"): OPERATOR_AND_ADMIN,
    ("POST", "/users"): OPERATOR_AND_ADMIN,
    ("GET", "/watches"): OPERATOR,
    ("POST", "/watches"): OPERATOR,
    ("POST", "/watches/{watch_id}/{action}"): OPERATOR,
    ("POST", "/channels/{candidate_id}/watch"): OPERATOR,
    ("GET", "/webhooks"): ADMIN,
    ("POST", "/webhooks"): ADMIN,
    ("GET", "/webhooks/{endpoint_id}"): ADMIN,
    ("POST", "/webhooks/{endpoint_id}/test"): ADMIN,
    ("POST", "/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry"): ADMIN,
    ("GET", "/audit"): OPERATOR_AND_ADMIN,
}
"""The console's pages: the same roles as the API's routes, the caller known by its session cookie, not a key."""
SESSION_COOKIE = "iw_session"
RATE_LIMITED: dict[tuple[str, str], str] = {("POST", "/v1/scans"): "scans"}
"""Routes whose calls count against the key's rate limit (`IMPWATCH_SCAN_RATE_PER_MINUTE`), and what they are."""
ANONYMOUS = Scope(role="anonymous")
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_LAST_USED_WAIT_MS = 200
log = logging.getLogger(__name__)


def _route_key(request: Request) -> tuple[str, str]:
    """The method and the matched route's path template, as the rules name them."""
    return request.method, getattr(request.scope.get("route"), "path", "")


def rule_for(request: Request) -> frozenset[str] | None:
    return RULES.get(_route_key(request)) or CONSOLE_RULES.get(_route_key(request))


def is_console_route(method: str, route_path: str) -> bool:
    return (method, route_path) in CONSOLE_RULES


def authorize(request: Request) -> Scope:
    """The app-wide dependency: find the route's rule, check the bearer key's role, and set the caller's scope. In
    the served app `GuardBodies` has already done so from the headers, before any body was received."""
    checked = getattr(request.state, "scope", None)
    if isinstance(checked, Scope):
        return checked
    header = request.headers.get("authorization", "")
    scope = check_call(request.app, request.method, _route_key(request)[1], header, request.cookies.get(SESSION_COOKIE))
    request.state.scope = scope
    return scope


def check_call(app: FastAPI, method: str, route_path: str, header: str, session_token: str | None = None) -> Scope:
    """The caller's scope for this route, from the `Authorization` header (API routes) or the session cookie
    (console pages) alone, or the refusal. A public console page still knows who is signed in."""
    console = is_console_route(method, route_path)
    allowed = (CONSOLE_RULES if console else RULES).get((method, route_path))
    if allowed is None:
        raise service.Forbidden("no_rule", "this route has no access rule; it is refused until it gets one")
    if allowed is PUBLIC:
        return _signed_in_or_anonymous(app.state.db_engine, session_token) if console else ANONYMOUS
    engine = app.state.db_engine
    scope = session_scope(engine, session_token) if console else key_scope(engine, header)
    if scope.role not in allowed:
        raise service.Forbidden("forbidden", f"a {scope.role} {'user' if console else 'key'} may not {method} this")
    limited = RATE_LIMITED.get((method, route_path))
    if limited:
        app.state.rate_limiter.take(scope.key_id or scope.user_id, limited)
    return scope


def session_scope(db_engine: Engine, token: str | None) -> Scope:
    """The scope of the console user signed in with this session cookie, or `Unauthenticated`."""
    if not token:
        raise service.Unauthenticated("signed_out", "sign in first")
    with Session(db_engine) as session:
        _, user = service.signed_in(session, token, utcnow())
        return service.user_scope(user)


def _signed_in_or_anonymous(db_engine: Engine, token: str | None) -> Scope:
    try:
        return session_scope(db_engine, token)
    except AppError:
        return ANONYMOUS


MULTIPART_FORM_ALLOWANCE = 64 * 1024
"""Bytes of form fields and part headers allowed in an upload's body on top of `IMPWATCH_MAX_UPLOAD_BYTES`."""


class GuardBodies:
    """Pure ASGI middleware, run before FastAPI reads a body: the route's access rule and the bearer key are checked
    from the headers alone, so a refused caller is answered (401/403) without one byte of its body being received;
    and a body is capped while it streams (`IMPWATCH_MAX_JSON_BODY_BYTES`, or for multipart uploads
    `IMPWATCH_MAX_UPLOAD_BYTES` plus the form's allowance): a declared `Content-Length` over the cap is answered 413
    at once, and a chunked body is counted and answered 413 as soon as it passes the cap."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        app: FastAPI = scope["app"]
        route_path = _api_route_path(app, scope)
        if route_path is None:  # not found, wrong method, or not an API route (the documentation)
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session_token = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        try:
            checked = await run_in_threadpool(
                check_call, app, scope["method"], route_path, headers.get("authorization", ""), session_token
            )
        except AppError as exc:
            page_refusal = getattr(app.state, "page_refusal", None)
            if page_refusal is not None and is_console_route(scope["method"], route_path):
                await page_refusal(exc, scope)(scope, receive, send)
                return
            await _refuse(exc, scope, receive, send)
            return
        scope.setdefault("state", {})["scope"] = checked
        settings = app.state.settings
        cap = settings.max_json_body_bytes
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            cap = settings.max_upload_bytes + MULTIPART_FORM_ALLOWANCE
        too_large = TooLarge("body_too_large", f"the request body is larger than {cap} bytes")
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            await _refuse(too_large, scope, receive, send)
            return
        await _CappedBody(self.app, cap, too_large)(scope, receive, send)


class _CappedBody:
    """Counts the body as the app receives it; past the cap it answers 413 itself, tells the app the client left,
    and drops whatever the app still tries to send."""

    def __init__(self, app: ASGIApp, cap: int, refusal: AppError) -> None:
        self.app, self.cap, self.refusal = app, cap, refusal
        self.received = 0
        self.refused = False
        self.started = False

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        async def counting_receive() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.cap:
                    self.refused = True
                    if not self.started:
                        await _refusal(self.refusal)(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if self.refused:
                return
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


def _api_route_path(app: FastAPI, scope: ASGIScope) -> str | None:
    """The path template of the API route this request will reach, as the rules name it."""
    table = getattr(app.state, "api_route_table", None)
    if table is None:
        table = app.state.api_route_table = [
            (compile_path(context.path)[0], context.methods or set(), context.path)
            for context in iter_route_contexts(app.routes)
            if isinstance(context.original_route, APIRoute) and context.path
        ]
    path = get_route_path(scope)
    for pattern, methods, template in table:
        if scope["method"] in methods and pattern.match(path):
            return template
    return None


def _refusal(exc: AppError) -> JSONResponse:
    """The refusal, closing the connection, so the server never reads the rest of the body."""
    response = JSONResponse({"code": exc.code, "detail": exc.message}, status_code=exc.status_code, headers=exc.headers)
    response.headers["connection"] = "close"
    return response


async def _refuse(exc: AppError, scope: ASGIScope, receive: Receive, send: Send) -> None:
    await _refusal(exc)(scope, receive, send)


def _key_scope(request: Request) -> Scope:
    header = request.headers.get("authorization", "")
    return key_scope(request.app.state.db_engine, header)


def key_scope(db_engine: Engine, header: str) -> Scope:
    """The scope of the bearer key in this `Authorization` header, or `Unauthenticated`."""
    scheme, _, plaintext = header.partition(" ")
    if scheme.lower() != "bearer" or not plaintext:
        raise service.Unauthenticated("missing_key", "send the API key as `Authorization: Bearer <key>`")
    now = utcnow()
    with Session(db_engine) as session:
        key = service.authenticate(session, plaintext.strip(), now)
        scope = service.scope_of(key)
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        _touch(db_engine, key.id, now)
    return scope


def _touch(db_engine: Engine, key_id: uuid.UUID, now: datetime) -> None:
    """Record when a key was last used, best effort: a write that would wait for the database's write lock longer
    than a moment is skipped (and logged), never failing the request it belongs to."""
    try:
        with db_engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql(f"PRAGMA busy_timeout={_LAST_USED_WAIT_MS}")
            try:
                connection.execute(
                    sa.update(ApiKey)
                    .where(col(ApiKey.id) == key_id)
                    .where(sa.or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < now))
                    .values(last_used_at=now)
                )
                connection.commit()
            finally:
                if connection.dialect.name == "sqlite":
                    connection.rollback()
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    except sa.exc.OperationalError as exc:
        log.warning("last_used_at of key %s not recorded: %s", key_id, exc)
