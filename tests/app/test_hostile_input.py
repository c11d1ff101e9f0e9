"""Hostile input on every JSON route of the served app: text that cannot be stored or sent (lone surrogates),
numbers no column or answer can hold (NaN, Infinity, 1e400), nesting hundreds deep, malformed alert cursors. Each
is refused with 422 and a stable `code`, never a 5xx; and text stored before the rule existed never breaks an answer."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx
import pytest
from pydantic import ValidationError
from sqlmodel import Session

from app.auth.rules import RULES
from app.runtime import Runtime
from tests.app.auth.world import World, build_world
from tests.app.test_openapi_fuzz import existing_ids
from tests.factories import bearer
from watchlist.models import Person
from watchlist.schemas import PersonCreate


def nested(depth: int) -> bytes:
    return b'{"description": ' + b"[" * depth + b"]" * depth + b"}"


HOSTILE_BODIES: dict[str, tuple[bytes, str]] = {
    "a lone surrogate, escaped": (b'{"display_name": "Joe \\ud83d", "note": "x"}', "invalid_unicode"),
    "a lone low surrogate in a list": (b'{"aliases": ["\\udc00"], "events": ["\\udfff"]}', "invalid_unicode"),
    "a lone surrogate in a key": (b'{"\\ud800": 1}', "invalid_unicode"),
    "a surrogate as raw bytes": (b'{"display_name": "Joe \xed\xa0\xbd"}', "invalid_json"),
    "bytes that are not UTF-8": (b'{"display_name": "\xff\xfe"}', "invalid_json"),
    "NaN": (b'{"tolerance": NaN, "interval_seconds": NaN}', "non_finite_number"),
    "Infinity": (b'{"tolerance": Infinity}', "non_finite_number"),
    "-Infinity": (b'{"tolerance": -Infinity}', "non_finite_number"),
    "1e400": (b'{"tolerance": 1e400, "interval_seconds": 1e400}', "non_finite_number"),
    "-1e400": (b'{"tolerance": -1e400}', "non_finite_number"),
    "nested 400 deep": (nested(400), "json_too_deep"),
    "nested 900 deep": (nested(900), "json_too_deep"),
    "nested 100000 deep": (nested(100_000), "json_too_deep"),
    "an integer of 5000 digits": (b'{"interval_seconds": ' + b"9" * 5000 + b"}", "invalid_json"),
}


@pytest.fixture
def world(runtime: Runtime) -> World:
    with Session(runtime.db_engine) as session:
        return build_world(session)


def json_routes(server: str) -> list[tuple[str, str]]:
    """(method, path template) of every operation whose request body is JSON, from the served OpenAPI document."""
    document = httpx.get(f"{server}/openapi.json").json()
    routes = [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(routes) >= 10, routes
    return routes


def key_for(world: World, method: str, path: str) -> str:
    """An administrator's key where the rules allow one, otherwise the operator's."""
    return world.own.keys["org_admin"] if "org_admin" in RULES[(method, path)] else world.operator_key


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_every_json_route_refuses_a_hostile_body_with_422_and_its_code(server: str, world: World, name: str) -> None:
    body, code = HOSTILE_BODIES[name]
    ids = existing_ids(world, server)
    answers = {}
    with httpx.Client(base_url=server, timeout=60) as client:
        for method, path in json_routes(server):
            answer = client.request(
                method,
                path.format(**ids),
                content=body,
                headers={**bearer(key_for(world, method, path)), "content-type": "application/json"},
            )
            answers[f"{method} {path}"] = (answer.status_code, answer.json().get("code"))
    assert all(answer == (422, code) for answer in answers.values()), answers


def test_a_deep_body_is_refused_quickly(server: str, world: World) -> None:
    """900 levels once cost a RecursionError and 2,000 lines of traceback each; a mebibyte of nesting costs no time."""
    deepest = nested(400_000)
    started = time.perf_counter()
    answer = httpx.post(
        f"{server}/v1/persons",
        content=deepest,
        headers={**bearer(world.own.keys["org_admin"]), "content-type": "application/json"},
        timeout=60,
    )
    assert (answer.status_code, answer.json()["code"]) == (422, "json_too_deep")
    assert time.perf_counter() - started < 2


def test_a_body_that_does_not_fit_its_shape_answers_invalid_input_with_each_problem(api: httpx.Client) -> None:
    answer = api.post("/v1/persons", json={"display_name": "", "tolerance": "close", "aliases": "one"})
    assert answer.status_code == 422
    refusal = answer.json()
    assert refusal["code"] == "invalid_input" and "display_name" in refusal["detail"]
    assert {tuple(error["loc"]) for error in refusal["errors"]} >= {("body", "tolerance"), ("body", "aliases")}
    assert all(set(error) == {"loc", "msg", "type"} for error in refusal["errors"]), "never the input echoed back"


def test_query_and_path_problems_answer_invalid_input_too(api: httpx.Client) -> None:
    for answer in (api.get("/v1/alerts", params={"limit": "NaN"}), api.get("/v1/persons/not-an-id")):
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input"), answer.text


def test_text_built_outside_a_json_body_is_held_to_the_same_rule() -> None:
    """A command's argument holds a lone surrogate when its bytes are not UTF-8 (Python's surrogateescape), and a
    shape may be built from it directly; forms cannot carry one (Starlette falls back to Latin-1)."""
    for text in ("Joe \udced", "\ud83d"):
        with pytest.raises(ValidationError, match="lone surrogate"):
            PersonCreate(display_name=text)
        with pytest.raises(ValidationError, match="lone surrogate"):
            PersonCreate(display_name="Joe", aliases=["ok", text])


def cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


ALERT_ID = "0190a1f2-0000-7000-8000-000000000000"
BAD_CURSORS = {
    "a time without a zone": cursor("2026-01-01T00:00:00", ALERT_ID),
    "a time out of range in UTC": cursor("0001-01-01T00:00:00+14:00", ALERT_ID),
    "an offset of a day": cursor("2026-01-01T00:00:00+24:00", ALERT_ID),
    "an id that is a number": cursor("2026-01-01T00:00:00+00:00", 12345),
    "an id that is a list": cursor("2026-01-01T00:00:00+00:00", [ALERT_ID]),
    "a time that is a number": cursor(1767225600, ALERT_ID),
    "an id that is not a UUID": cursor("2026-01-01T00:00:00+00:00", "alert-1"),
    "three parts": cursor("2026-01-01T00:00:00+00:00", ALERT_ID, "more"),
    "an object": base64.urlsafe_b64encode(b'{"a": 1}').decode(),
    "not JSON": base64.urlsafe_b64encode(b"\xff\x00\x01").decode(),
    "not base64": "!!!not base64!!!",
    "one character of base64": "A",
}


@pytest.mark.parametrize("name", list(BAD_CURSORS))
def test_a_malformed_alert_cursor_is_refused(api: httpx.Client, name: str) -> None:
    answer = api.get("/v1/alerts", params={"cursor": BAD_CURSORS[name]})
    assert (answer.status_code, answer.json()["code"]) == (422, "bad_cursor"), answer.text


def test_a_person_stored_with_a_surrogate_before_the_rule_is_shown_with_a_replacement_character(
    runtime: Runtime, api: httpx.Client
) -> None:
    """Text stored before input was held to the rule (the JSON columns took it) never breaks an answer: the whole
    organisation's list once answered 500 for one such alias."""
    created = api.post("/v1/persons", json={"display_name": "Joe Legacy"}).json()
    with Session(runtime.db_engine) as session:
        person = session.get(Person, uuid.UUID(created["id"]))
        assert person is not None
        person.aliases, person.phone_numbers = ["Joe \ud83d", "\udc00x"], ["+7701\ud83d"]
        session.add(person)
        session.commit()
    listed = api.get("/v1/persons")
    assert listed.status_code == 200, listed.text
    [shown] = [item for item in listed.json() if item["id"] == created["id"]]
    assert shown["aliases"] == ["Joe \ufffd", "\ufffdx"] and shown["phone_numbers"] == ["+7701\ufffd"]
    assert api.get(f"/v1/persons/{created['id']}").json()["aliases"] == ["Joe \ufffd", "\ufffdx"]
