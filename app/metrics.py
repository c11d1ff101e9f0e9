"""Prometheus metrics of the service: HTTP requests, alerts, and the /metrics route serving every metric."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest

ALERTS_CREATED = Counter("impwatch_alerts_created", "Alerts raised", ["kind"])
HTTP_REQUESTS = Counter("impwatch_http_requests", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "impwatch_http_request_duration_seconds", "Time to answer an HTTP request", ["method", "route"]
)

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
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
