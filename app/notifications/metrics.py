"""Prometheus metrics of notifications (served with the others at `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

NOTIFICATION_ATTEMPTS = Counter(
    "impwatch_notification_attempts_total",
    "Attempts to send a notification, by channel kind and outcome (delivered, retry, dead, gone)",
    ["kind", "outcome"],
)
NOTIFICATION_DURATION = Histogram(
    "impwatch_notification_duration_seconds", "Time of one notification attempt", ["kind"]
)


def record_notification_attempt(kind: str, outcome: str, seconds: float) -> None:
    NOTIFICATION_ATTEMPTS.labels(kind, outcome).inc()
    NOTIFICATION_DURATION.labels(kind).observe(seconds)
