"""Schemathesis against the live OpenAPI document: no generated request makes the service answer 5xx.

The schema is read from the real app served by uvicorn (`server`); every operation in it is called over HTTP with
requests generated from the schema, a bounded number per operation and the same ones on every run: valid ones, invalid
ones, and valid ones aimed at objects that exist (a person with a face, an alert, a watch, a webhook endpoint with a
delivery, a key), as an organisation's administrator and as the installation's operator. The property proved is
that no response, to any of those requests in either role, has a status of 500 or more.

The operations are driven with `APIOperation.as_strategy` and Hypothesis rather than `schemathesis.pytest`'s
`from_fixture`, whose collection hook does not work with pytest 9.2 (it sets `Function._nodeid`).
"""

from __future__ import annotations

import re

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from sqlmodel import Session

from app.runtime import Runtime
from tests.app.auth.world import World, build_world
from tests.factories import bearer

EXAMPLES_PER_OPERATION = 25
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
PUBLIC_WEBHOOK_URL = "https://93.184.215.14/impwatch"  # a public IP literal: accepted without DNS, never called here


def existing_ids(world: World, server: str) -> dict[str, str]:
    """Path parameter name -> an object of the world's own organisation (the watch is the installation's)."""
    with httpx.Client(base_url=server, timeout=60, headers=bearer(world.own.keys["org_admin"])) as admin:
        endpoint = admin.post("/v1/webhooks", json={"url": PUBLIC_WEBHOOK_URL})
        assert endpoint.status_code == 201, endpoint.text
        delivery = admin.post(f"/v1/webhooks/{endpoint.json()['id']}/test")
        assert delivery.status_code == 202, delivery.text
    ids = {**world.own.object_ids, "watch_id": world.watch_id}
    return {name: str(value) for name, value in ids.items()} | {
        "endpoint_id": endpoint.json()["id"],
        "delivery_id": delivery.json()["id"],
        "candidate_id": "@kz_news_source",
    }


def run_order(operation: schemathesis.APIOperation) -> tuple[int, int]:
    """Deletions last, the most nested first, so that the existing objects live while the other operations run."""
    return (1, -operation.path.count("/")) if operation.method.upper() == "DELETE" else (0, 0)


def server_error(operation: schemathesis.APIOperation, headers: dict[str, str], ids: dict[str, str]) -> str | None:
    """Call the operation with generated requests; the report of the 5xx Hypothesis found (after shrinking), if any."""
    known = {name: ids[name] for name in re.findall(r"\{(\w+)\}", operation.path) if name in ids}
    strategies = [
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    ]
    if known:
        strategies.append(operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=known))

    @FUZZ_SETTINGS
    @given(case=st.one_of(strategies))
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    try:
        call()
    except (Exception, BaseExceptionGroup) as failure:  # schemathesis's FailureGroup, or Hypothesis giving up
        notes = "\n".join(getattr(failure, "__notes__", []))
        return f"{operation.label}: {failure}\n{notes}"
    return None


@pytest.mark.parametrize("role", ["org_admin", "operator"])
def test_no_operation_answers_a_server_error(runtime: Runtime, server: str, role: str) -> None:
    with Session(runtime.db_engine) as session:
        world = build_world(session)
    ids = existing_ids(world, server)
    headers = bearer(world.own.keys["org_admin"] if role == "org_admin" else world.operator_key)
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json", config=schemathesis.Config())
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=run_order)
    assert len(operations) > 30, "the OpenAPI document lost its operations"
    failures = [failure for operation in operations if (failure := server_error(operation, headers, ids))]
    assert not failures, "\n\n".join(failures)


HUGE = str(2**63)
AT_THE_EDGE_OF_TIME = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
NUL = "a\u0000b"
HOSTILE_REQUESTS: list[tuple[str, str, str, dict]] = [
    ("org_admin", "GET", "/v1/persons", {"params": {"offset": HUGE}}),
    ("org_admin", "GET", "/v1/webhooks/{endpoint_id}/deliveries", {"params": {"offset": HUGE}}),
    *[
        ("org_admin", "GET", "/v1/alerts", {"params": {edge: when}})
        for edge in ("since", "until")
        for when in AT_THE_EDGE_OF_TIME
    ],
    *[("org_admin", "GET", "/v1/audit", {"params": {"before": when}}) for when in AT_THE_EDGE_OF_TIME],
    ("org_admin", "POST", "/v1/keys", {"json": {"role": "org_member", "expires_at": AT_THE_EDGE_OF_TIME[1]}}),
    ("org_admin", "POST", "/v1/persons", {"json": {"display_name": NUL}}),
    ("org_admin", "POST", "/v1/persons", {"json": {"display_name": "A", "aliases": [NUL]}}),
    ("org_admin", "PATCH", "/v1/persons/{person_id}", {"json": {"role_title": NUL}}),
    ("org_admin", "GET", "/v1/persons", {"params": {"q": NUL}}),
    ("org_admin", "POST", "/v1/webhooks", {"json": {"url": PUBLIC_WEBHOOK_URL, "description": NUL}}),
    ("org_admin", "PATCH", "/v1/webhooks/{endpoint_id}", {"json": {"description": NUL}}),
    ("org_admin", "PATCH", "/v1/alerts/{alert_id}", {"json": {"note": NUL}}),
    ("org_admin", "POST", "/v1/invitations", {"json": {"note": NUL}}),
    ("org_admin", "POST", "/v1/keys", {"json": {"role": "org_member", "name": NUL}}),
    ("operator", "POST", "/v1/organizations", {"json": {"name": NUL}}),
    (
        "org_admin",
        "POST",
        "/v1/invitations/redeem",
        {
            "data": {
                "token": "t",
                "display_name": NUL,
                "consent": "true",
                "consent_text": "I agree",
                "consent_version": "1",
            },
            "files": {"photos": ("me.jpg", b"\xff\xd8\xff")},
        },
    ),
    ("operator", "POST", "/v1/watches", {"json": {"source": {"kind": "folder", "path": NUL}}}),
    ("operator", "POST", "/v1/watches", {"json": {"source": {"kind": "telegram_export", "path": NUL}}}),
]


@pytest.mark.parametrize(("role", "method", "path", "request_parts"), HOSTILE_REQUESTS)
def test_what_the_search_found_is_refused_with_422(
    runtime: Runtime, server: str, role: str, method: str, path: str, request_parts: dict
) -> None:
    """Requests Schemathesis and a search by hand once answered with 500: numbers past a database integer, times that
    leave the calendar once in UTC, and NUL characters, which PostgreSQL text cannot hold."""
    with Session(runtime.db_engine) as session:
        world = build_world(session)
    ids = existing_ids(world, server)
    key = world.own.keys["org_admin"] if role == "org_admin" else world.operator_key
    with httpx.Client(base_url=server, timeout=60, headers=bearer(key)) as client:
        answer = client.request(method, path.format(**ids), **request_parts)
    assert answer.status_code == 422, answer.text


def test_a_time_without_a_zone_is_taken_as_utc(api: httpx.Client) -> None:
    assert api.get("/v1/alerts", params={"since": "2026-01-01T00:00:00"}).status_code == 200
    assert api.get("/v1/audit", params={"before": "2026-01-01T00:00:00"}).status_code == 200
