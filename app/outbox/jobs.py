"""The outbox's senders, the same for every channel: what is due goes out from a bounded pool of senders, one
sender per recipient (an endpoint, a chat), so deliveries to different recipients go out at once and those to one
recipient one after another, oldest first.

A sender still at work when a run ends (a slow receiver) finishes in the background, and the runs after leave its
recipient to it, so a slow receiver holds one sender and costs the others nothing while senders are free.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from app.outbox.service import DueDelivery

DueReader = Callable[[set[uuid.UUID], int], list[DueDelivery]]
"""Up to `limit` due deliveries to recipients not in the given set; [] when the outbox cannot be read now."""
Deliverer = Callable[[uuid.UUID], bool]
"""Claim, send and record one delivery; True when an attempt was made."""


@dataclass
class Senders:
    """Runs an outbox: `due` says what to send, `deliver` sends one delivery (in its own sessions and try/except)."""

    name: str
    due: DueReader
    deliver: Deliverer
    batch_size: int = 50
    drain_seconds: float = 30.0
    concurrency: int = 8
    _pool: ThreadPoolExecutor = field(init=False, repr=False)
    _sending: dict[uuid.UUID, Future[int]] = field(init=False, repr=False, default_factory=dict)
    """The sender at work for each recipient, whichever run started it."""
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"{self.name}-sender")

    def run(self) -> int:
        """Send what is due until nothing is or `drain_seconds` have passed: a sender per recipient with due
        deliveries, up to `concurrency` at once, each going through its recipient's deliveries oldest first.
        Returns the number of attempts made by this run's senders that have finished."""
        deadline = time.monotonic() + self.drain_seconds
        started: list[Future[int]] = []
        while True:
            launched, left_waiting = self._launch(deadline)
            started += launched
            if not left_waiting and all(sender.done() for sender in started):
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wait(self._busy(), timeout=left, return_when=FIRST_COMPLETED)
        return sum(sender.result() for sender in started if sender.done() and not sender.cancelled())

    def close(self) -> None:
        """Let the senders finish the attempts they are making, and start no other."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _launch(self, deadline: float) -> tuple[list[Future[int]], bool]:
        """Start a sender for each recipient with due deliveries and none at work, while the pool has room; also
        says whether due deliveries were left for want of room."""
        launched: list[Future[int]] = []
        while True:
            with self._lock:
                busy, room = set(self._sending), self.concurrency - len(self._sending)
            if room <= 0:
                return launched, bool(self.due(busy, 1))
            due = self.due(busy, self.batch_size)
            by_recipient: dict[uuid.UUID, list[uuid.UUID]] = {}
            for delivery in due:
                by_recipient.setdefault(delivery.recipient_id, []).append(delivery.delivery_id)
            for recipient_id, delivery_ids in list(by_recipient.items())[:room]:
                launched.append(self._start_sender(recipient_id, delivery_ids, deadline))
            if len(by_recipient) > room:
                return launched, True
            if len(due) < self.batch_size:
                return launched, False
            if time.monotonic() > deadline:
                return launched, True

    def _start_sender(self, recipient_id: uuid.UUID, delivery_ids: list[uuid.UUID], deadline: float) -> Future[int]:
        with self._lock:
            sender = self._pool.submit(self._send_in_turn, recipient_id, delivery_ids, deadline)
            self._sending[recipient_id] = sender
        return sender

    def _send_in_turn(self, recipient_id: uuid.UUID, delivery_ids: list[uuid.UUID], deadline: float) -> int:
        """One recipient's deliveries, one at a time; after the run's deadline no new one is begun (the next run
        goes on with them)."""
        attempts = 0
        try:
            for index, delivery_id in enumerate(delivery_ids):
                if index and time.monotonic() > deadline:
                    break
                attempts += self.deliver(delivery_id)
        finally:
            with self._lock:
                self._sending.pop(recipient_id, None)
        return attempts

    def _busy(self) -> list[Future[int]]:
        with self._lock:
            return list(self._sending.values())
