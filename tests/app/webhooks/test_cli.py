"""`impwatch webhook ...` run in this process (tests/impwatch.py) on a real SQLite file, sending to a real receiver."""

from __future__ import annotations

import re
from pathlib import Path

from tests.app.webhooks.receiver import Receiver, Reply
from tests.impwatch import run

LOCAL_RECEIVERS = {"IMPWATCH_WEBHOOK_ALLOW_PRIVATE_URLS": "true"}


def test_add_test_list_rotate_and_remove(tmp_path: Path, receiver: Receiver) -> None:
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
    refused = run(tmp_path, "webhook", "add", receiver.url)
    assert refused.returncode == 1 and "127.0.0.1" in refused.stderr and "private" in refused.stderr
    assert receiver.url not in run(tmp_path, "webhook", "list").stdout
    assert run(tmp_path, "webhook", "add", receiver.url, settings=LOCAL_RECEIVERS).returncode == 0
