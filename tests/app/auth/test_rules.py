"""The access matrix, generated from the app's route table: every route x every role x own/other organisation.

A route without a rule in app.auth.rules fails here (and is refused in production), so no route can ship without
an access decision. Another organisation's object answers 404, never 403, and lists never show its ids.
"""

from __future__ import annotations

import re
import select
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import Session

from app.auth.rules import CONSOLE_RULES, PUBLIC, RULES, SESSION_COOKIE
from app.main import create_app
from app.runtime import Runtime
from tests.app.auth.world import ConsoleSession, OrgWorld, World, build_world
from tests.factories import api_key, faceless_photo
from tests.support import running_server

pytestmark = pytest.mark.usefixtures("cached_faces")  # the face analysis is not under test here (tests/face_cache.py)

ROLES = ("anonymous", "operator", "org_admin", "org_member", "subject")
DENIED = {401, 403}


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[httpx.Client]:
    with running_server(app) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) of the app, from the OpenAPI document FastAPI builds from its route table (a
    route hidden from the schema has no rule either, and `authorize` refuses it)."""
    paths = app.openapi()["paths"]
    return sorted((method.upper(), path) for path, operations in paths.items() for method in operations)


def routes_without_rules(app: FastAPI) -> list[tuple[str, str]]:
    return [route for route in api_routes(app) if route not in RULES]


def console_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) of the console's pages: the API routes hidden from the OpenAPI document."""
    documented = {path for _, path in api_routes(app)}
    return sorted(
        (method, context.path)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.path not in documented | DOCUMENTATION
        for method in context.methods or ()
    )


def test_every_route_has_an_access_rule(app: FastAPI) -> None:
    assert routes_without_rules(app) == [], "routes without an access rule"
    stale = sorted(set(RULES) - set(api_routes(app)))
    assert stale == [], f"rules for routes that do not exist: {stale}"
    pages = console_routes(app)
    assert [page for page in pages if page not in CONSOLE_RULES] == [], "console pages without an access rule"
    assert sorted(set(CONSOLE_RULES) - set(pages)) == [], "rules for console pages that do not exist"


def test_a_route_whose_rule_is_removed_fails_the_check_and_is_refused(
    app: FastAPI, client: httpx.Client, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(runtime.db_engine) as session:
        world = build_world(session)
    monkeypatch.delitem(RULES, ("GET", "/v1/alerts"))

    assert routes_without_rules(app) == [("GET", "/v1/alerts")]
    refused = call(client, "GET", "/v1/alerts", "/v1/alerts", world.own.keys["org_admin"])
    assert refused.status_code == 403 and refused.json()["code"] == "no_rule"


def key_for(role: str, world: World) -> str | None:
    if role == "anonymous":
        return None
    return world.operator_key if role == "operator" else world.own.keys[role]


def fill_path(path: str, org: OrgWorld, world: World) -> str:
    ids = {**org.object_ids, "watch_id": world.watch_id}
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), uuid.uuid4())), path)


UPLOADS = {
    "/v1/persons/{person_id}/faces": "photo",
    "/v1/scans": "file",
}
"""Routes whose body is a file upload: they get a (faceless) photo, so the request reaches the object check."""


def call(client: httpx.Client, method: str, template: str, path: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if method == "POST" and template in UPLOADS:
        files = {UPLOADS[template]: ("photo.png", faceless_photo(), "image/png")}
        return client.request(method, path, headers=headers, files=files)
    return client.request(method, path, headers=headers, json={} if method in ("POST", "PATCH") else None)


def other_org_ids(world: World) -> list[str]:
    return [str(value) for value in world.other.object_ids.values()] + [str(world.other.organization_id)]


def expectations(method: str, path: str, role: str) -> str:
    allowed = RULES[(method, path)]
    if allowed is PUBLIC:
        return "open"
    return "allowed" if role in allowed else "denied"


def may_have_written(method: str, response: httpx.Response) -> bool:
    """Whether a request may have changed the world: a write that was not refused (a refused one rolls back)."""
    return method not in ("GET", "HEAD") and not 400 <= response.status_code < 500


def test_access_matrix(runtime: Runtime, app: FastAPI, client: httpx.Client) -> None:
    """Each request meets the world as it was built: it is built again after a request that may have changed it."""
    failures: list[str] = []
    world: World | None = None
    for method, path in api_routes(app):
        if (method, path) not in RULES:
            failures.append(f"{method} {path}: no rule")
            continue
        for role in ROLES:
            for target in ("own", "other"):
                if world is None:
                    with Session(runtime.db_engine) as session:
                        world = build_world(session)
                org = world.own if target == "own" else world.other
                response = call(client, method, path, fill_path(path, org, world), key_for(role, world))
                failure = judge(method, path, role, target, response, world)
                if failure:
                    failures.append(f"{method} {path} as {role} on {target}: {failure}")
                if may_have_written(method, response):
                    world = None
    assert failures == [], "\n".join(failures)


def judge(method: str, path: str, role: str, target: str, response: httpx.Response, world: World) -> str | None:
    expected = expectations(method, path, role)
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if expected == "denied":
        wanted = 401 if role == "anonymous" else 403
        return None if status == wanted else f"expected {wanted}, got {status}"
    if status in DENIED:
        return f"refused with {status} although the rule allows it"
    has_org_object = any(
        f"{{{name}}}" in path for name in ("person_id", "face_id", "alert_id", "key_id", "endpoint_id", "delivery_id")
    )
    if expected == "allowed" and target == "other" and has_org_object and role != "operator" and status != 404:
        return f"another organisation's object answered {status}, not 404"
    if expected == "allowed" and target == "own" and role != "operator":
        leaked = [value for value in other_org_ids(world) if value in response.text]
        if leaked:
            return f"the answer shows another organisation's ids {leaked}"
    return None


HUGE = 200 * 1024 * 1024


MULTIPART = {"Content-Type": "multipart/form-data; boundary=x"}
FILE_PART = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n'


def send_until_answered(
    base_url: str, path: str, headers: dict[str, str], chunked: bool, preamble: bytes = b""
) -> tuple[int, bytes]:
    """POST a 200 MB body (`preamble`, then zeros, streamed) over a raw socket, stopping as soon as the server
    answers; the bytes of body sent by then, and the answer's head."""
    host, port = base_url.removeprefix("http://").split(":")
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(HUGE)}
    head = "".join(f"{name}: {value}\r\n" for name, value in {"Host": host, **headers, **framing}.items())
    piece = b"\0" * 65536
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
    sent, answer, pending = 0, b"", memoryview(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
    deadline = time.monotonic() + 60
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.setblocking(False)
        while b"\r\n\r\n" not in answer and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock] if sent < HUGE else [], [], 1)
            if readable:
                data = sock.recv(65536)
                answer += data
                if not data:
                    break
            elif writable:
                if not pending:
                    first = f"{len(preamble):x}\r\n".encode() + preamble + b"\r\n" if chunked else preamble
                    pending, sent = memoryview(first + frame if sent == 0 and preamble else frame), sent + len(piece)
                try:
                    pending = pending[sock.send(pending) :]
                except (BlockingIOError, ConnectionError):
                    continue
    return sent, answer


def test_a_caller_without_a_key_is_answered_before_its_body_is_read(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    process = psutil.Process()
    rss_before = process.memory_info().rss
    cases = [
        ("/v1/persons", {"Content-Type": "application/json"}, False),
        ("/v1/scans", MULTIPART, True),
    ]
    for path, headers, chunked in cases:
        sent, answer = send_until_answered(server, path, headers, chunked)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert sent < 32 * 1024 * 1024, f"{path}: {sent} bytes of the body were taken before the answer"
    grown = process.memory_info().rss - rss_before
    assert grown < 64 * 1024 * 1024, f"the server's memory grew by {grown} bytes"
    assert list(spool.iterdir()) == []


def test_bodies_over_their_cap_are_answered_413_as_they_stream(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(max_upload_bytes=1024 * 1024, max_json_body_bytes=64 * 1024)
    key = api_key(runtime, "org_admin")
    with running_server(create_app(runtime)) as base_url:
        auth = {"Authorization": f"Bearer {key}"}
        sent, answer = send_until_answered(base_url, "/v1/persons", {**auth, "Content-Type": "application/json"}, False)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        assert sent < 32 * 1024 * 1024
        sent, answer = send_until_answered(base_url, "/v1/scans", {**auth, **MULTIPART}, True, FILE_PART)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
        assert sent < 32 * 1024 * 1024
        with httpx.Client(base_url=base_url, headers=auth, timeout=30) as admin:
            big = admin.post("/v1/persons", json={"display_name": "x" * (70 * 1024)})
            assert big.status_code == 413 and big.json()["code"] == "body_too_large"
            assert admin.post("/v1/persons", json={"display_name": "Fits"}).status_code == 201


DOCUMENTATION = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def test_the_only_routes_outside_the_rules_are_the_public_documentation(app: FastAPI, client: httpx.Client) -> None:
    """The matrix covers every API route; the other routes of the app are the API's documentation, public as the
    README says (it holds no data)."""
    api = {path for _, path in api_routes(app)} | {path for _, path in console_routes(app)}
    others = {context.path for context in iter_route_contexts(app.routes) if context.path not in api}
    assert others == DOCUMENTATION | {"/static"}
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert client.get(path).status_code == 200


def session_for(role: str, world: World) -> ConsoleSession | None:
    if role == "anonymous":
        return None
    return world.operator_session if role == "operator" else world.own.sessions[role]


def console_call(client: httpx.Client, method: str, path: str, signed_in: ConsoleSession | None) -> httpx.Response:
    """A page as a browser asks for it: the session cookie and, on a form, the session's CSRF token."""
    client.cookies.clear()
    if signed_in:
        client.cookies.set(SESSION_COOKIE, signed_in.token)
    headers = {"X-CSRF-Token": signed_in.csrf} if signed_in and method == "POST" else {}
    return client.request(method, path, headers=headers, data=FORM_FIELDS if method == "POST" else None)


FORM_FIELDS = {"status": "dismissed", "tolerance": "0.5", "name_mentions": "possible", "confirm": "not the name"}
"""Fields the console's forms need, so that a request allowed in reaches the object check."""


def test_console_access_matrix(runtime: Runtime, app: FastAPI, client: httpx.Client) -> None:
    """Every console page x every role x own/other organisation, signed in by session cookie: a role the rule does
    not name is refused (signed out: to the sign-in page), another organisation's object is 404, and an own page
    never shows another organisation's ids."""
    failures: list[str] = []
    for method, path in console_routes(app):
        allowed = CONSOLE_RULES[(method, path)]
        for role in ROLES:
            for target in ("own", "other"):
                with Session(runtime.db_engine) as session:
                    world = build_world(session)
                org = world.own if target == "own" else world.other
                filled = fill_path(path.replace("{action}", "run"), org, world)
                response = console_call(client, method, filled, session_for(role, world))
                failure = judge_page(method, path, role, target, allowed, response, world)
                if failure:
                    failures.append(f"{method} {path} as {role} on {target}: {failure}")
    assert failures == [], "\n".join(failures)


def judge_page(
    method: str, path: str, role: str, target: str, allowed: frozenset[str], response: httpx.Response, world: World
) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if allowed is PUBLIC:
        return None
    if role not in allowed:
        if role == "anonymous" and method == "GET":
            signed_out = status == 303 and response.headers["location"].startswith("/login")
            return None if signed_out else f"expected a redirect to sign in, got {status}"
        wanted = 401 if role == "anonymous" else 403
        return None if status == wanted else f"expected {wanted}, got {status}"
    if status in DENIED:
        return f"refused with {status} although the rule allows it"
    has_org_object = any(f"{{{name}}}" in path for name in ("person_id", "face_id", "alert_id", "endpoint_id"))
    if target == "other" and has_org_object and role != "operator" and status != 404:
        return f"another organisation's object answered {status}, not 404"
    if target == "own" and role != "operator":
        leaked = [value for value in other_org_ids(world) if value in response.text]
        if leaked:
            return f"the page shows another organisation's ids {leaked}"
    return None
