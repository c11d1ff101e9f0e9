"""Webhook endpoints in the service, whatever calls it: an endpoint always belongs to an existing organisation."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session

from app.runtime import Runtime
from app.webhooks import service
from app.webhooks.schemas import EndpointCreate
from core.errors import InputRejected, NotFound
from tests.app.webhooks.builders import add_endpoint, add_person, deliveries, raise_alert
from tests.factories import organization_id

DATA = EndpointCreate(url="https://receiver.example.org/hook")


def test_an_endpoint_needs_an_existing_organisation(runtime: Runtime) -> None:
    with Session(runtime.db_engine) as session:
        with pytest.raises(InputRejected) as no_organisation:
            service.create_endpoint(session, None, DATA, runtime.webhook_url_policy)  # type: ignore[arg-type]
        assert no_organisation.value.code == "organization_required"
        with pytest.raises(NotFound):
            service.create_endpoint(session, uuid.uuid4(), DATA, runtime.webhook_url_policy)
        assert service.list_endpoints(session) == []


def test_an_endpoint_is_of_the_organisation_given(runtime: Runtime) -> None:
    owner = organization_id(runtime)
    with Session(runtime.db_engine) as session:
        endpoint, secret = service.create_endpoint(session, owner, DATA, runtime.webhook_url_policy)
        assert endpoint.organization_id == owner and secret.startswith("whsec_")


def test_possible_alerts_go_only_to_endpoints_that_ask_for_them(runtime: Runtime) -> None:
    plain, _ = add_endpoint(runtime, "https://desk.example.org/hook")
    review, _ = add_endpoint(runtime, "https://review.example.org/hook", include_possible=True)
    assert (plain.include_possible, review.include_possible) == (False, True)
    person = add_person(runtime)

    possible = raise_alert(runtime, person, media="lookalike", tier="possible")
    assert (possible.tier, possible.priority) == ("possible", "normal")
    assert [d.endpoint_id for d in deliveries(runtime)] == [review.id]

    raise_alert(runtime, person, media="deepfake", tier="match")
    assert sorted(d.endpoint_id for d in deliveries(runtime)[1:]) == sorted([plain.id, review.id])

    raise_alert(runtime, person, media="lookalike", channel="another_channel", tier="possible")
    assert [d.endpoint_id for d in deliveries(runtime)[3:]] == [review.id], "a repost of a possible one: review only"
