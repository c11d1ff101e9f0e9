"""The /metrics route serving every Prometheus metric, and the metrics of HTTP requests.

Each domain defines its own metrics next to its code (`app/alerts/metrics.py`, `app/webhooks/metrics.py`,
`watchers/metrics.py`), so that recording one never imports FastAPI; they are imported here so that /metrics
serves them all, whatever this process has done so far.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

import app.alerts.metrics  # noqa: F401  (a metric is served once its module is imported)
import watchers.metrics  # noqa: F401
from app.webhooks.metrics import read_outbox
from core.http import api_router

HTTP_REQUESTS = Counter("impwatch_http_requests", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "impwatch_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"]
)

router = api_router(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format."""
    read_outbox(request.app.state.db_engine)
    runtime = request.app.state.runtime
    if runtime.settings.broker_url:
        from app.queue.metrics import read_queues

        read_queues(runtime.task_queue)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


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
