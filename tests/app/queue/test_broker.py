"""Which queue a watch's runs go to, and the broker URL a setting may hold."""

from __future__ import annotations

import pydantic
import pytest

from app.queue.broker import TELEGRAM, WATCHES, TaskQueue
from app.settings import Settings
from tests.app.queue.conftest import RABBITMQ_URL

ACCOUNT = {"telegram_api_id": 1, "telegram_api_hash": "hash", "telegram_session": "session"}


@pytest.mark.parametrize(
    ("account", "kind", "queue"),
    [
        (False, "telegram", TELEGRAM),
        (False, "tme_preview", WATCHES),
        (True, "tme_preview", TELEGRAM),  # hidden media fetched through the account: where the session is
        (True, "folder", WATCHES),
        (True, "telegram_export", WATCHES),
    ],
)
def test_runs_that_use_the_telegram_session_are_pinned_to_the_telegram_queue(
    account: bool, kind: str, queue: str, queue_prefix: str
) -> None:
    settings = Settings(broker_url=RABBITMQ_URL, broker_queue_prefix=queue_prefix, **(ACCOUNT if account else {}))
    task_queue = TaskQueue.from_settings(settings)
    try:
        assert task_queue.queue_for(kind) == queue
        assert task_queue.actors[queue].queue_name == f"{queue_prefix}{queue}"
    finally:
        task_queue.close()


@pytest.mark.parametrize("url", ["http://127.0.0.1:5672", "amqp:/host", "rabbitmq"])
def test_a_broker_url_of_another_kind_is_refused(url: str) -> None:
    with pytest.raises(pydantic.ValidationError, match="broker_url"):
        Settings(broker_url=url)
