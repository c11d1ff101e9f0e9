"""`impwatch webhook ...` run in this process (tests/impwatch.py) on a real SQLite file, sending to a real receiver."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlmodel import Session, select

from app.runtime import Runtime
from app.webhooks.jobs import WebhookDispatcher
from app.webhooks.models import WebhookEndpoint
from tests.app.webhooks.builders import add_person, dispatch_until, raise_alert
from tests.app.webhooks.receiver import Receiver, Reply
from tests.factories import DEFAULT_ORGANIZATION, organization_id
from tests.impwatch import Ran, run

LOCAL_RECEIVERS = {"IMPWATCH_WEBHOOK_ALLOW_PRIVATE_URLS": "true"}


def test_add_test_list_rotate_and_remove(tmp_path: Path, receiver: Receiver) -> None:
    assert run(tmp_path, "org", "create", "Akimat press office").returncode == 0
    receiver.script(Reply(500))
    created = run(
        tmp_path,
        "webhook",
        "add",
        receiver.url,
        "--description",
        "press office",
        "--event",
        "alert.created",
        settings=LOCAL_RECEIVERS,
    )
    assert created.returncode == 0, created.stderr
    endpoint_id = re.search(r"\(([0-9a-f-]{36})\)", created.stdout).group(1)
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_")

    failed = run(tmp_path, "webhook", "test", endpoint_id, settings=LOCAL_RECEIVERS)
    assert failed.returncode == 1 and "HTTP 500" in failed.stderr
    tested = run(tmp_path, "webhook", "test", endpoint_id, settings=LOCAL_RECEIVERS)
    assert tested.returncode == 0 and "delivered: HTTP 200" in tested.stdout, tested.stderr
    assert [request.verify(secret)["type"] for request in receiver.received] == ["webhook.test"] * 2

    listing = run(tmp_path, "webhook", "list")
    assert endpoint_id in listing.stdout and "alert.created" in listing.stdout and secret not in listing.stdout
    rotated = run(tmp_path, "webhook", "rotate-secret", endpoint_id, "--keep-previous-seconds", "0")
    assert rotated.returncode == 0 and rotated.stdout.strip().splitlines()[-1] not in (secret, "")

    assert run(tmp_path, "webhook", "remove", endpoint_id).returncode == 0
    assert run(tmp_path, "webhook", "remove", endpoint_id).returncode == 1, "already removed"
    assert run(tmp_path, "webhook", "add", receiver.url, "--event", "alert.deleted").returncode == 2


def test_a_private_receiver_is_refused_unless_the_operator_allows_it(tmp_path: Path, receiver: Receiver) -> None:
    assert run(tmp_path, "org", "create", "Akimat press office").returncode == 0
    refused = run(tmp_path, "webhook", "add", receiver.url)
    assert refused.returncode == 1 and "127.0.0.1" in refused.stderr and "private" in refused.stderr
    assert receiver.url not in run(tmp_path, "webhook", "list").stdout
    assert run(tmp_path, "webhook", "add", receiver.url, settings=LOCAL_RECEIVERS).returncode == 0


def endpoints(runtime: Runtime) -> list[WebhookEndpoint]:
    with Session(runtime.db_engine) as session:
        return list(session.exec(select(WebhookEndpoint)))


def added_secret(result: Ran) -> str:
    return result.stdout.strip().splitlines()[-1]


def test_an_endpoint_added_from_the_cli_gets_the_alerts_of_the_only_organisations_people(
    runtime: Runtime,
    database_url: str,
    dispatcher: WebhookDispatcher,
    receiver: Receiver,
    impwatch: Callable[..., Ran],
) -> None:
    person = add_person(runtime)
    added = impwatch(
        "webhook", "add", receiver.url, settings={"IMPWATCH_DATABASE_URL": database_url, **LOCAL_RECEIVERS}
    )
    assert added.returncode == 0, added.stderr
    assert f"of {DEFAULT_ORGANIZATION}" in added.stdout
    [endpoint] = endpoints(runtime)
    assert endpoint.organization_id == organization_id(runtime)

    alert = raise_alert(runtime, person)
    dispatch_until(dispatcher, lambda: receiver.count() == 1, what="the alert at the endpoint added from the CLI")
    event = receiver.received[0].verify(added_secret(added))
    assert event["type"] == "alert.created" and event["data"]["alert"]["id"] == str(alert.id)


def test_with_several_organisations_the_cli_asks_which_one(
    runtime: Runtime, database_url: str, receiver: Receiver, impwatch: Callable[..., Ran]
) -> None:
    database = {"IMPWATCH_DATABASE_URL": database_url, **LOCAL_RECEIVERS}
    akimat = organization_id(runtime, "Akimat press office")
    ministry = organization_id(runtime, "Ministry press office")

    ambiguous = impwatch("webhook", "add", receiver.url, settings=database)
    assert ambiguous.returncode == 2
    assert "several organisations" in ambiguous.stderr and "--org" in ambiguous.stderr
    assert "Akimat press office" in ambiguous.stderr and "Ministry press office" in ambiguous.stderr
    unknown = impwatch("webhook", "add", receiver.url, "--org", "Nowhere", settings=database)
    assert unknown.returncode == 2 and "Nowhere" in unknown.stderr
    assert endpoints(runtime) == [], "nothing is added without an organisation"

    by_name = impwatch("webhook", "add", receiver.url, "--org", "Ministry press office", settings=database)
    assert by_name.returncode == 0, by_name.stderr
    by_id = impwatch("webhook", "add", receiver.url, "--org", str(akimat), settings=database)
    assert by_id.returncode == 0 and "of Akimat press office" in by_id.stdout, by_id.stderr
    owners = [endpoint.organization_id for endpoint in endpoints(runtime)]
    assert sorted(map(str, owners)) == sorted(map(str, [akimat, ministry]))
    listing = impwatch("webhook", "list", settings=database)
    assert "Ministry press office" in listing.stdout and "Akimat press office" in listing.stdout


def test_the_people_filter_takes_only_people_of_the_endpoints_organisation(
    runtime: Runtime, database_url: str, receiver: Receiver, impwatch: Callable[..., Ran]
) -> None:
    database = {"IMPWATCH_DATABASE_URL": database_url, **LOCAL_RECEIVERS}
    theirs = add_person(runtime)
    organization_id(runtime, "Ministry press office")
    other = impwatch(
        "webhook", "add", receiver.url, "--org", "Ministry press office", "--person", str(theirs.id), settings=database
    )
    assert other.returncode == 1 and str(theirs.id) in other.stderr and "not found" in other.stderr
    own = impwatch(
        "webhook", "add", receiver.url, "--org", DEFAULT_ORGANIZATION, "--person", str(theirs.id), settings=database
    )
    assert own.returncode == 0, own.stderr
    [endpoint] = endpoints(runtime)
    assert endpoint.person_ids == [str(theirs.id)]


def test_without_an_organisation_the_cli_says_how_to_make_one(impwatch: Callable[..., Ran]) -> None:
    refused = impwatch("webhook", "add", "https://receiver.example.org/hook")
    assert refused.returncode == 2
    assert "no organisation" in refused.stderr and "impwatch org create" in refused.stderr
    assert "receiver.example.org" not in impwatch("webhook", "list").stdout
    assert "default" not in impwatch("org", "list").stdout, "no organisation is made up for an endpoint"
