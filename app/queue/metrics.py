"""Prometheus metrics of the broker, read from it when /metrics is scraped (any process may add to a queue): whether
it answers, and each queue's messages by state."""

from __future__ import annotations

import logging
from dataclasses import asdict

from prometheus_client import Gauge

from app.queue.broker import TaskQueue

log = logging.getLogger(__name__)

BROKER_UP = Gauge("impwatch_broker_up", "1 when the broker (IMPWATCH_BROKER_URL) answered the last scrape, else 0")
QUEUE_MESSAGES = Gauge("impwatch_queue_messages", "Messages in a broker queue (RabbitMQ only)", ["queue", "state"])


def read_queues(queue: TaskQueue) -> bool:
    """Set the gauges from the broker; False when it did not answer."""
    try:
        depths = queue.depths()
    except Exception as exc:
        log.warning("the broker did not answer: %s", exc)
        BROKER_UP.set(0)
        return False
    BROKER_UP.set(1)
    for name, depth in (depths or {}).items():
        for state, messages in asdict(depth).items():
            QUEUE_MESSAGES.labels(queue.queue_name(name), state).set(messages)
    return True
