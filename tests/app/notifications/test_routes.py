"""The notification channels' API: an administrator's channels of its own organisation, the bot token never shown,
test messages, deliveries with every attempt, retry by hand."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from app.notifications.jobs import NotificationDispatcher
from app.runtime import Runtime
from tests.app.notifications.bot_api import TOKEN, BotApi
from tests.app.notifications.builders import add_telegram_channel, dispatch_until
from tests.app.webhooks.builders import add_person


def test_create_list_get_update_and_delete(api: httpx.Client, runtime: Runtime) -> None:
    person = add_person(runtime)
    created = api.post(
        "/v1/notifications/channels",
        json={
            "kind": "telegram",
            "bot_token": TOKEN,
            "chat_id": -1001,
            "language": "en",
            "person_ids": [str(person.id)],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["target"], body["bot_id"], body["language"]) == ("telegram", "-1001", "123456", "en")
    assert TOKEN not in created.text
    mail = api.post("/v1/notifications/channels", json={"kind": "email", "address": "desk@akimat.example.kz"})
    assert mail.status_code == 201 and mail.json()["target"] == "desk@akimat.example.kz"

    listed = api.get("/v1/notifications/channels")
    assert [channel["kind"] for channel in listed.json()] == ["telegram", "email"] and TOKEN not in listed.text
    changed = api.patch(f"/v1/notifications/channels/{body['id']}", json={"tiers": ["match"], "language": "kk"})
    assert (changed.json()["tiers"], changed.json()["language"]) == (["match"], "kk")
    assert api.delete(f"/v1/notifications/channels/{body['id']}").status_code == 204
    assert api.get(f"/v1/notifications/channels/{body['id']}").status_code == 404


def test_bad_channels_are_refused_with_a_code(api: httpx.Client, runtime: Runtime) -> None:
    someone_elses = add_person(runtime, organization="Other press office")
    cases = [
        {"kind": "telegram", "bot_token": "nope", "chat_id": 1},
        {"kind": "email", "address": "not an address"},
        {"kind": "sms", "number": "+77015551234"},
        {"kind": "email", "address": "a@b.kz", "language": "de"},
        {"kind": "email", "address": "a@b.kz", "tiers": ["certain"]},
    ]
    for case in cases:
        refused = api.post("/v1/notifications/channels", json=case)
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input"), case
    other = api.post(
        "/v1/notifications/channels",
        json={"kind": "email", "address": "a@b.kz", "person_ids": [str(someone_elses.id)]},
    )
    assert (other.status_code, other.json()["code"]) == (422, "unknown_person")


def test_another_organisations_channel_is_not_found(client_as: Callable[..., httpx.Client], runtime: Runtime) -> None:
    theirs = add_telegram_channel(runtime, organization="Other press office")
    ours = client_as("org_admin")
    assert ours.get(f"/v1/notifications/channels/{theirs.id}").status_code == 404
    assert ours.post(f"/v1/notifications/channels/{theirs.id}/test").status_code == 404
    assert ours.get("/v1/notifications/channels").json() == []


def test_a_test_message_its_attempts_and_a_retry_by_hand(
    api: httpx.Client, runtime: Runtime, bot_api: BotApi, dispatcher: NotificationDispatcher
) -> None:
    channel = add_telegram_channel(runtime, language="en")
    bot_api.fail("sendMessage", 400, "Bad Request: message is too long")
    queued = api.post(f"/v1/notifications/channels/{channel.id}/test")
    assert queued.status_code == 202 and queued.json()["event"] == "notification.test"
    delivery_id = queued.json()["id"]
    url = f"/v1/notifications/channels/{channel.id}/deliveries"

    dispatch_until(dispatcher, lambda: api.get(url).json()[0]["status"] == "dead", "the test to be refused")
    retried = api.post(f"{url}/{delivery_id}/retry")
    assert retried.status_code == 202 and retried.json()["status"] == "pending"
    dispatch_until(dispatcher, lambda: api.get(url).json()[0]["status"] == "delivered", "the retry")

    [delivery] = api.get(url).json()
    assert [attempt["outcome"] for attempt in delivery["attempt_log"]] == ["dead", "delivered"]
    assert "message is too long" in delivery["attempt_log"][0]["error"].lower()
    assert bot_api.sent_by("sendMessage")[0].params["text"].startswith("Impersonation Watch: a test message")
    assert api.get(url, params={"status": "dead"}).json() == []
