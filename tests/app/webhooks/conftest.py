"""Webhook fixtures: a runtime with a fast retry schedule, its dispatcher, and a real receiver on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.runtime import Runtime
from app.scheduling import build_webhook_dispatcher
from app.webhooks.jobs import WebhookDispatcher
from tests.app.webhooks.builders import FAST_RETRIES, PUBLIC_BASE_URL
from tests.app.webhooks.receiver import Receiver


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime(
        public_base_url=PUBLIC_BASE_URL, webhook_retry_schedule_seconds=FAST_RETRIES, webhook_timeout_seconds=2.0
    )


@pytest.fixture
def dispatcher(runtime: Runtime) -> Iterator[WebhookDispatcher]:
    built = build_webhook_dispatcher(runtime)
    yield built
    built.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server
