"""The webhooks API over a real socket: endpoints, the secret shown once, rotation, test events, deliveries with
their attempts, retry by hand, and alert triage queueing `alert.updated`."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
from sqlmodel import Session

from app.runtime import Runtime
from app.webhooks.jobs import WebhookDispatcher
from app.webhooks.models import WebhookEndpoint
from tests.app.webhooks.builders import add_person, deliveries, dispatch_until, raise_alert
from tests.app.webhooks.receiver import Receiver, Reply
from tests.factories import organization_id


def create(api: httpx.Client, url: str, **fields: object) -> dict:
    created = api.post("/v1/webhooks", json={"url": url, **fields})
    assert created.status_code == 201, created.text
    return created.json()


def test_the_secret_is_shown_once(api: httpx.Client, receiver: Receiver) -> None:
    created = create(api, receiver.url, description="press office", events=["alert.created", "alert.updated"])
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["events"] == ["alert.created", "alert.updated"]
    assert created["enabled"] and created["person_ids"] == []

    listed = api.get("/v1/webhooks")
    one = api.get(f"/v1/webhooks/{created['id']}")
    for answer in (listed, one):
        assert answer.status_code == 200 and secret not in answer.text and 'secret"' not in answer.text
    assert [endpoint["id"] for endpoint in listed.json()] == [created["id"]]


def test_bad_input_is_refused(api: httpx.Client, receiver: Receiver) -> None:
    assert api.post("/v1/webhooks", json={"url": "ftp://example.org/x"}).status_code == 422
    assert api.post("/v1/webhooks", json={"url": receiver.url, "events": ["alert.deleted"]}).status_code == 422
    assert api.post("/v1/webhooks", json={"url": receiver.url, "events": []}).status_code == 422
    unknown = api.post("/v1/webhooks", json={"url": receiver.url, "person_ids": [str(uuid.uuid4())]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_person"
    missing = uuid.uuid4()
    assert api.get(f"/v1/webhooks/{missing}").status_code == 404
    assert api.get(f"/v1/webhooks/{missing}").json()["code"] == "not_found"
    assert api.post(f"/v1/webhooks/{missing}/test").status_code == 404
    assert api.get(f"/v1/webhooks/{missing}/deliveries").status_code == 404
    endpoint = create(api, receiver.url)
    assert api.post(f"/v1/webhooks/{endpoint['id']}/deliveries/{missing}/retry").status_code == 404


def test_update_filter_by_person_disable_and_enable(api: httpx.Client, runtime: Runtime, receiver: Receiver) -> None:
    person = add_person(runtime)
    endpoint = create(api, receiver.url)
    changed = api.patch(
        f"/v1/webhooks/{endpoint['id']}",
        json={"person_ids": [str(person.id)], "events": ["*"], "description": "one person", "enabled": False},
    )
    assert changed.status_code == 200
    body = changed.json()
    assert body["person_ids"] == [str(person.id)] and not body["enabled"] and body["description"] == "one person"
    refused = api.post(f"/v1/webhooks/{endpoint['id']}/test")
    assert refused.status_code == 409 and refused.json()["code"] == "endpoint_disabled"
    assert api.patch(f"/v1/webhooks/{endpoint['id']}", json={"enabled": True}).json()["enabled"]


def test_rotation_returns_the_new_secret_once(api: httpx.Client, receiver: Receiver) -> None:
    endpoint = create(api, receiver.url)
    rotated = api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret", json={"keep_previous_seconds": 600})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["secret"].startswith("whsec_") and new["secret"] != endpoint["secret"]
    assert new["previous_secret_expires_at"]
    shown = api.get(f"/v1/webhooks/{endpoint['id']}")
    assert new["secret"] not in shown.text and shown.json()["previous_secret_expires_at"]
    immediate = api.post(f"/v1/webhooks/{endpoint['id']}/rotate-secret", json={"keep_previous_seconds": 0}).json()
    assert immediate["previous_secret_expires_at"] is None


def test_test_event_deliveries_and_retry_by_hand(
    api: httpx.Client, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    receiver.script(Reply(500, body=b"not yet"))
    endpoint = create(api, receiver.url)
    queued = api.post(f"/v1/webhooks/{endpoint['id']}/test")
    assert queued.status_code == 202
    delivery = queued.json()
    assert delivery["status"] == "pending" and delivery["event_type"] == "webhook.test"
    assert delivery["webhook_id"].startswith("msg_") and delivery["payload"]["type"] == "webhook.test"

    deliveries_url = f"/v1/webhooks/{endpoint['id']}/deliveries"
    dispatch_until(dispatcher, lambda: api.get(deliveries_url).json()[0]["status"] == "delivered", "the test event")
    [shown] = api.get(deliveries_url).json()
    assert [attempt["status_code"] for attempt in shown["attempt_log"]] == [500, 200]
    assert shown["attempt_log"][0]["response_excerpt"] == "not yet" and shown["attempts"] == 2
    assert receiver.received[-1].verify(endpoint["secret"])["data"]["endpoint_id"] == endpoint["id"]

    retried = api.post(f"{deliveries_url}/{shown['id']}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    dispatch_until(dispatcher, lambda: receiver.count() == 3, "the retried delivery")
    assert {request.webhook_id for request in receiver.received} == {shown["webhook_id"]}
    assert api.get(f"{deliveries_url}/{shown['id']}").json()["attempts"] == 3
    assert api.get(deliveries_url, params={"status": "dead"}).json() == []
    assert api.get(deliveries_url, params={"status": "maybe"}).status_code == 422


def test_triage_through_the_api_queues_alert_updated(api: httpx.Client, runtime: Runtime, receiver: Receiver) -> None:
    endpoint = create(api, receiver.url, events=["alert.updated"])
    alert = raise_alert(runtime, add_person(runtime))
    deliveries_url = f"/v1/webhooks/{endpoint['id']}/deliveries"
    assert api.get(deliveries_url).json() == [], "alert.created is not subscribed"

    assert api.patch(f"/v1/alerts/{alert.id}", json={"status": "confirmed_impersonation"}).status_code == 200
    assert api.patch(f"/v1/alerts/{alert.id}", json={"status": "confirmed_impersonation"}).status_code == 200
    [queued] = api.get(deliveries_url).json()
    assert queued["event_type"] == "alert.updated" and queued["payload"]["data"]["changed"] == ["status"]
    assert queued["payload"]["data"]["alert"]["status"] == "confirmed_impersonation"


def test_removing_an_endpoint_removes_its_deliveries(api: httpx.Client, runtime: Runtime, receiver: Receiver) -> None:
    endpoint = create(api, receiver.url)
    raise_alert(runtime, add_person(runtime))
    assert len(api.get(f"/v1/webhooks/{endpoint['id']}/deliveries").json()) == 1
    assert api.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{endpoint['id']}").status_code == 404
    assert api.get("/v1/webhooks").json() == []
    assert api.delete(f"/v1/webhooks/{endpoint['id']}").status_code == 404


def test_an_endpoint_is_its_admins_organisations_and_gets_only_that_organisations_alerts(
    client_as: Callable[..., httpx.Client], runtime: Runtime, dispatcher: WebhookDispatcher, receiver: Receiver
) -> None:
    ours = create(client_as("org_admin"), receiver.url)
    with Receiver() as elsewhere:
        theirs = create(client_as("org_admin", organization="Another newsroom"), elsewhere.url)
        with Session(runtime.db_engine) as session:
            assert session.get(WebhookEndpoint, uuid.UUID(ours["id"])).organization_id == organization_id(runtime)
            assert session.get(WebhookEndpoint, uuid.UUID(theirs["id"])).organization_id == organization_id(
                runtime, "Another newsroom"
            )
        raise_alert(runtime, add_person(runtime))
        dispatch_until(dispatcher, lambda: receiver.count() == 1, what="the alert at its organisation's endpoint")
        assert [str(delivery.endpoint_id) for delivery in deliveries(runtime)] == [ours["id"]]
        assert elsewhere.count() == 0
    operator = client_as("operator").post("/v1/webhooks", json={"url": receiver.url})
    assert operator.status_code == 403, "an endpoint of no organisation cannot be made over the API"
