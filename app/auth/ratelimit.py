"""Per-key rate limits: a token bucket per API key, in memory (one process serves the API)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`per_minute` requests a minute for each key, in bursts of up to `per_minute`; refilled continuously."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(per_minute)
        self._refill_per_second = per_minute / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[uuid.UUID | None, _Bucket] = {}

    def take(self, key_id: uuid.UUID | None, what: str) -> None:
        """Spend one request of this key, or raise `RateLimited` saying when the next one is allowed."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.setdefault(key_id, _Bucket(self._capacity, now))
            bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.updated) * self._refill_per_second)
            bucket.updated = now
            if bucket.tokens < 1:
                wait = (1 - bucket.tokens) / self._refill_per_second
                raise RateLimited(
                    "rate_limited",
                    f"this key may make {int(self._capacity)} {what} a minute; retry in {wait:.0f} s",
                    wait,
                )
            bucket.tokens -= 1
