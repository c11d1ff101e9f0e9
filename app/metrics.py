"""Prometheus metrics of the service: HTTP requests, alerts, webhook deliveries and the outbox, and the /metrics
route serving every metric."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.webhooks.service import outbox_backlog
from core.clock import utcnow

ALERTS_CREATED = Counter(
    "impwatch_alerts_created", "Alerts raised, by kind and tier (match: alerted)", ["kind", "tier"]
)
HTTP_REQUESTS = Counter("impwatch_http_requests", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "impwatch_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"]
)
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

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    _read_outbox(request.app.state.db_engine)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _read_outbox(db_engine: Engine) -> None:
    """The backlog lives in the database (any process may add to it), so it is read when scraped."""
    with Session(db_engine) as session:
        backlog = outbox_backlog(session, utcnow())
    OUTBOX_PENDING.set(backlog.pending)
    OUTBOX_OLDEST.set(backlog.oldest_age_seconds)


def record_webhook_attempt(outcome: str, duration_seconds: float) -> None:
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    WEBHOOK_SECONDS.observe(duration_seconds)


def _route_template(request: Request) -> str:
    """The matched route's path template (`/v1/alerts/{alert_id}`), so that ids do not explode the label set."""
    route = request.scope.get("route")
    return getattr(route, "path", None) or "unmatched"


async def record_http_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        route = _route_template(request)
        HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
        HTTP_SECONDS.labels(request.method, route).observe(time.perf_counter() - started)
