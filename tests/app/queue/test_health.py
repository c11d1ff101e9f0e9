"""What the operator sees of the broker: `/readyz` says whether it answers, `/metrics` how many messages wait in
each queue (the real RabbitMQ; a port nobody listens on for a broker that is down)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx

from app.main import create_app
from app.runtime import Runtime
from tests.app.queue.conftest import RABBITMQ_URL
from tests.factories import api_key, bearer
from tests.support import free_port, running_server


def test_readiness_and_metrics_show_the_broker_and_its_queues(
    make_runtime: Callable[..., Runtime], queue_prefix: str
) -> None:
    runtime = make_runtime(broker_url=RABBITMQ_URL, broker_queue_prefix=queue_prefix)
    runtime.task_queue.send_analysis("a" * 64)  # no worker consumes it: it waits
    with running_server(create_app(runtime)) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        ready = client.get("/readyz")
        metrics = client.get("/metrics", headers=bearer(api_key(runtime, "operator"))).text
    assert ready.status_code == 200 and ready.json()["checks"]["broker"] == "ok"
    assert "impwatch_broker_up 1.0" in metrics
    waiting = re.search(
        rf'impwatch_queue_messages{{queue="{re.escape(queue_prefix)}analyse",state="ready"}} (\S+)', metrics
    )
    assert waiting is not None and float(waiting.group(1)) == 1.0, metrics[-2000:]


def test_a_broker_that_does_not_answer_makes_the_service_not_ready(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(broker_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    with running_server(create_app(runtime)) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        ready = client.get("/readyz")
        metrics = client.get("/metrics", headers=bearer(api_key(runtime, "operator"))).text
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"].startswith("unreachable: "), ready.json()
    assert "impwatch_broker_up 0.0" in metrics
