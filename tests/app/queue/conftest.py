"""The real RabbitMQ on 127.0.0.1:5672 (guest/guest): each test's queues under a prefix of its own, deleted after
it; `impwatch worker` processes started by the test and killed at its end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.queue.broker import QUEUES
from tests.support import wait_for

ROOT = Path(__file__).resolve().parents[3]
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@pytest.fixture
def queue_prefix() -> Iterator[str]:
    """A prefix of this test's own; its queues (with Dramatiq's delay and dead-letter queues) are deleted after."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    yield prefix
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        for name in QUEUES:
            for queue in (f"{prefix}{name}", f"{prefix}{name}.DQ", f"{prefix}{name}.XQ"):
                channel.queue_delete(queue)
    finally:
        connection.close()


def queue_depth(queue: str) -> int:
    """Messages ready in a queue (0 when it does not exist yet)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        try:
            return channel.queue_declare(queue, passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:
            return 0
    finally:
        connection.close()


class WorkerProcess:
    """`impwatch worker ARGS` in a process group of its own, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", *args],
                env=env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 30) -> None:
        def seen() -> bool:
            assert self.process.poll() is None or text in self.output(), self.output()[-3000:]
            return text in self.output()

        wait_for(seen, timeout=timeout, interval=0.02, what=f"{text!r} in {self.log.name}")

    def kill(self) -> None:
        """SIGKILL to the worker and any face worker of its own, as when its machine goes down."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=30)


@pytest.fixture
def start_worker(tmp_path: Path, database_url: str, queue_prefix: str) -> Iterator[Callable[..., WorkerProcess]]:
    """Start `impwatch worker ARGS` on this test's database, data folder and queues; all killed at teardown."""
    started: list[WorkerProcess] = []

    def start(*args: str, **settings: str) -> WorkerProcess:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("IMPWATCH_")},
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "IMPWATCH_DATA_DIR": str(tmp_path / "data"),
            "IMPWATCH_DATABASE_URL": database_url,
            "IMPWATCH_BROKER_URL": RABBITMQ_URL,
            "IMPWATCH_BROKER_QUEUE_PREFIX": queue_prefix,
            "IMPWATCH_DEFAULT_MATCH_THRESHOLD": "0.5",
            "IMPWATCH_FACE_WORKERS": "0",
            "IMPWATCH_WORKER_METRICS_PORT": "0",
            **{f"IMPWATCH_{name.upper()}": value for name, value in settings.items()},
        }
        started.append(WorkerProcess(list(args), env, tmp_path / f"worker-{len(started)}.log"))
        return started[-1]

    yield start
    for worker in started:
        worker.kill()
