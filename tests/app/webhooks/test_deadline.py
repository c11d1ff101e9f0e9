"""One deadline for a whole attempt, against a real local receiver that answers a byte a second: whether the
trickle is in the headers or in the body, the request ends at the deadline, where httpx's own timeout (per read)
would let it run for a minute."""

from __future__ import annotations

import time

import httpx
import pytest

from app.webhooks.deadline import DeadlineTransport, attempt_deadline
from tests.app.webhooks.receiver import Receiver, Trickler


@pytest.mark.parametrize("trickle_headers", [False, True], ids=["body", "headers"])
def test_a_trickled_answer_ends_at_the_deadline(trickle_headers: bool) -> None:
    with Trickler(trickle_headers=trickle_headers) as slow, httpx.Client(transport=DeadlineTransport()) as client:
        started = time.monotonic()
        with attempt_deadline(1.5), pytest.raises(httpx.ReadTimeout):
            client.post(slow.url, content=b'{"type": "webhook.test"}', timeout=5)
        assert 1.4 <= time.monotonic() - started < 2.5
        assert len(slow.arrivals) == 1


def test_nothing_is_sent_once_the_deadline_has_passed(receiver: Receiver) -> None:
    with httpx.Client(transport=DeadlineTransport()) as client:
        with attempt_deadline(0), pytest.raises(httpx.ConnectTimeout):
            client.post(receiver.url, content=b"{}")
        assert client.post(receiver.url, content=b"{}").status_code == 200, "no deadline outside the block"
    assert receiver.count() == 1
