"""One flood-wait limiter per Telegram account: after Telegram asks one request to wait, no request of any watch on
that account goes out until the wait is over.

Telethon's own flood guard (`flood_sleep_threshold`) is off (waits reach our policy) and with `receive_updates=False`
it would not block other requests anyway, so a watch that got FLOOD_WAIT_600 would otherwise be followed at once by
the next watch's request, which Telegram punishes with a longer wait. The limiter lives on the account's gateway
(`watchers.telegram_client.TelegramGateway`), shared by every telegram watch of the process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class FloodLimiter:
    """When the account may send again. `clock` is monotonic seconds (injectable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._until = 0.0

    def remaining(self) -> float:
        """Seconds until requests may go out again; 0 when they may now."""
        with self._lock:
            return max(0.0, self._until - self._clock())

    def block(self, seconds: float) -> None:
        """Telegram asked to wait `seconds`: no request goes out before then (a longer wait already set stays)."""
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)
