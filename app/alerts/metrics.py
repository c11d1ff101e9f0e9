"""Prometheus metrics of the alerts; `app.metrics` serves them at /metrics with every other one."""

from __future__ import annotations

from prometheus_client import Counter

ALERTS_CREATED = Counter("impwatch_alerts_created", "Alerts raised, by kind and tier", ["kind", "tier"])
