"""Prometheus metrics of webhook delivery: each attempt, and the outbox backlog (read from the database when
scraped, since any process may add to it); `app.metrics` serves them at /metrics with every other one."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.webhooks.service import outbox_backlog
from core.clock import utcnow

WEBHOOK_DELIVERIES = Counter(
    "impwatch_webhook_deliveries",
    "Webhook delivery attempts, by outcome: delivered (2xx), failed (to be retried) or dead (no attempt left)",
    ["outcome"],
)
WEBHOOK_SECONDS = Histogram(
    "impwatch_webhook_delivery_duration_seconds", "Time to send one webhook request and read the answer"
)
OUTBOX_PENDING = Gauge("impwatch_webhook_outbox_pending", "Webhook deliveries not yet delivered nor dead")
OUTBOX_OLDEST = Gauge(
    "impwatch_webhook_outbox_oldest_pending_age_seconds", "Age of the oldest pending webhook delivery (0: none)"
)


def record_webhook_attempt(outcome: str, duration_seconds: float) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    WEBHOOK_SECONDS.observe(duration_seconds)


def read_outbox(db_engine: Engine) -> None:
    """Set the backlog gauges from the database."""
    with Session(db_engine) as session:
        backlog = outbox_backlog(session, utcnow())
    OUTBOX_PENDING.set(backlog.pending)
    OUTBOX_OLDEST.set(backlog.oldest_age_seconds)
