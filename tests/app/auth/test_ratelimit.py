"""Per-key rate limits on scans: the bucket itself, and the 429 a caller gets over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from app.auth.ratelimit import RateLimited, RateLimiter
from app.runtime import Runtime
from tests.factories import faceless_photo


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_rate_and_no_more_and_keys_do_not_share_it() -> None:
    clock = FakeClock()
    limiter = RateLimiter(3, clock=clock)
    busy, other = uuid.uuid4(), uuid.uuid4()
    for _ in range(3):
        limiter.take(busy, "scans")

    with pytest.raises(RateLimited) as refused:
        limiter.take(busy, "scans")
    assert refused.value.status_code == 429 and refused.value.retry_after_seconds == pytest.approx(20)
    assert refused.value.headers == {"Retry-After": "20"}
    limiter.take(other, "scans")

    clock.now += 20
    limiter.take(busy, "scans")
    with pytest.raises(RateLimited):
        limiter.take(busy, "scans")


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(scan_rate_per_minute=2)


def scan(client: httpx.Client) -> httpx.Response:
    return client.post("/v1/scans", files={"file": ("gradient.png", faceless_photo(), "image/png")})


def test_scans_beyond_the_rate_answer_429_with_retry_after(client_as: Callable[..., httpx.Client]) -> None:
    busy, colleague = client_as("org_member"), client_as("org_member")
    assert [scan(busy).status_code for _ in range(2)] == [200, 200]

    refused = scan(busy)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and "2 scans a minute" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 30
    assert scan(colleague).status_code == 200, "the limit is per key"
    assert busy.get("/v1/alerts").status_code == 200, "only scans are limited"
