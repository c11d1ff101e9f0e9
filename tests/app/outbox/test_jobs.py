"""The outbox's senders: one recipient's deliveries in order, one at a time; different recipients at once, within
the pool's bound; a slow recipient left to its sender by the next run, and what it left sent by the run after."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict

from app.outbox.jobs import Senders
from app.outbox.service import DueDelivery
from tests.support import wait_for


class Outbox:
    """Deliveries in memory, due until sent; `deliver` records who was being sent to at the same moment."""

    def __init__(self, per_recipient: int, recipients: int) -> None:
        self.owed = [
            DueDelivery(uuid.uuid4(), recipient)
            for recipient in [uuid.uuid4() for _ in range(recipients)]
            for _ in range(per_recipient)
        ]
        self.sent: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        self.at_once: set[uuid.UUID] = set()
        self.most_at_once = 0
        self.hold: threading.Event | None = None
        self._lock = threading.Lock()

    def due(self, busy: set[uuid.UUID], limit: int) -> list[DueDelivery]:
        with self._lock:
            return [row for row in self.owed if row.recipient_id not in busy][:limit]

    def deliver(self, delivery_id: uuid.UUID) -> bool:
        row = next(row for row in self.owed if row.delivery_id == delivery_id)
        with self._lock:
            assert row.recipient_id not in self.at_once, "two senders at once for one recipient"
            self.at_once.add(row.recipient_id)
            self.most_at_once = max(self.most_at_once, len(self.at_once))
        if self.hold is not None:
            self.hold.wait(10)
        with self._lock:
            self.at_once.discard(row.recipient_id)
            self.owed.remove(row)
            self.sent[row.recipient_id].append(delivery_id)
        return True


def test_every_delivery_goes_out_in_order_per_recipient_within_the_bound() -> None:
    outbox = Outbox(per_recipient=5, recipients=6)
    order = {row.recipient_id: [] for row in outbox.owed}
    for row in outbox.owed:
        order[row.recipient_id].append(row.delivery_id)
    senders = Senders("test", outbox.due, outbox.deliver, batch_size=4, concurrency=3)
    try:
        attempts = senders.run()
    finally:
        senders.close()
    assert attempts == 30 and not outbox.owed
    assert dict(outbox.sent) == order, "each recipient's deliveries, oldest first"
    assert 1 <= outbox.most_at_once <= 3


def test_a_recipient_still_being_sent_to_is_left_to_its_sender_by_the_next_run() -> None:
    outbox = Outbox(per_recipient=2, recipients=1)
    outbox.hold = threading.Event()
    senders = Senders("test", outbox.due, outbox.deliver, drain_seconds=0.2)
    try:
        assert senders.run() == 0, "the run ends at its drain deadline with the slow send unfinished"
        assert senders.run() == 0, "the next run starts no second sender for that recipient"
        outbox.hold.set()
        wait_for(lambda: len(outbox.owed) == 1, timeout=10, what="the slow send finished in the background")
        assert senders.run() == 1, "the run after goes on with what its sender left past the deadline"
    finally:
        outbox.hold.set()
        senders.close()
    assert not outbox.owed and len(next(iter(outbox.sent.values()))) == 2
