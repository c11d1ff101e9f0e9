"""The clock: every timestamp the service stores is an aware UTC instant from here, or from an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""What jobs and services take when they need the time, so that tests can hand them another."""


def utcnow() -> datetime:
    return datetime.now(UTC)
