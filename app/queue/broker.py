"""The broker's queues and their actors, handed ids, never files:

| queue | actor | message | consumed by |
|---|---|---|---|
| `analyse` | `analyse` | a content's sha256 | `impwatch worker --queues analyse`, on any number of machines |
| `watches` | `run_watch` | a watch id (t.me previews, folders, exports) | `--queues watches`, any number |
| `telegram` | `run_telegram_watch` | a watch id of a Telethon source | `--queues telegram`: one process per account |

Delivery is at least once: a message is acknowledged after its actor returns, so one whose worker died (SIGKILL,
a machine gone) is delivered again to another. Every write it leads to is idempotent: an analysis is stored once
per sha256 (its primary key; a second one is dropped and the first kept), a post once per watch and message id, an
alert once per person and media cluster, an occurrence once per alert and media item.

Dramatiq and pika are imported here only, inside the functions that build the broker: a process without a broker
configured never imports them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.settings import Settings
from watchers.models import MediaAnalysis, Watch

if TYPE_CHECKING:
    from dramatiq import Actor, Broker

log = logging.getLogger(__name__)

ANALYSE, WATCHES, TELEGRAM = "analyse", "watches", "telegram"
QUEUES = (ANALYSE, WATCHES, TELEGRAM)
TELEGRAM_KINDS = frozenset({"telegram"})
"""Sources that read through the installation's Telethon session: their runs are pinned to the telegram queue."""
WITH_AN_ACCOUNT = frozenset({"tme_preview"})
"""Sources that use the session when the installation has one (the media a preview hides): pinned then too."""


@dataclass(frozen=True)
class QueueDepth:
    """A queue's messages: waiting, waiting for a retry (delayed), and dead-lettered after the last retry."""

    ready: int
    delayed: int
    dead: int


class AnalysisNotStored(RuntimeError):
    """The analysis a watch run enqueued was not stored before its deadline."""


@dataclass
class Handlers:
    """What the actors do in a consuming process; a process that only enqueues has none."""

    analyse: Callable[[str], object]
    run_watch: Callable[[uuid.UUID], object]


def build_broker(settings: Settings) -> Broker:
    """RabbitMQ for `amqp://` and `amqps://` URLs (publisher confirms on), Redis for `redis://` and `rediss://`;
    ValueError for anything else. Middleware: message age limits and retries with backoff; no time limit (an
    analysis has its own, `IMPWATCH_ANALYSIS_TIMEOUT_SECONDS`, and a watch run ends with its items)."""
    from dramatiq.middleware import AgeLimit, Retries

    url = settings.broker_url
    middleware = [AgeLimit(), Retries(max_retries=settings.broker_max_retries, min_backoff=1000, max_backoff=60_000)]
    scheme = url.split(":", 1)[0].lower()
    if scheme in {"amqp", "amqps"}:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, middleware=middleware, confirm_delivery=True)
    if scheme in {"redis", "rediss"}:
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url, middleware=middleware)
    raise ValueError(f"IMPWATCH_BROKER_URL must start with amqp://, amqps://, redis:// or rediss://, not {scheme!r}")


@dataclass
class TaskQueue:
    """The broker with the three actors declared on it: `send_*` enqueue (any process), `serve` gives a consuming
    process the handlers the actors call."""

    broker: Broker
    prefix: str = ""
    telegram_account: bool = False
    """An account is configured: t.me preview watches fetch hidden media through it, so they run where it is."""
    handlers: Handlers | None = None
    actors: dict[str, Actor[Any, Any]] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> TaskQueue:
        account = bool(settings.telegram_api_id and settings.telegram_api_hash and settings.telegram_session)
        queue = cls(build_broker(settings), settings.broker_queue_prefix, telegram_account=account)
        queue._declare()
        return queue

    def queue_name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def send_analysis(self, sha256: str) -> None:
        self.actors[ANALYSE].send(sha256)

    def send_watch_run(self, watch: Watch) -> None:
        """Enqueue a run of `watch` on its queue; a run left waiting longer than the watch's interval is dropped
        unrun (the next one is enqueued by then), so a backlog never grows while no consumer runs."""
        actor = self.actors[self.queue_for(watch.kind)]
        actor.send_with_options(args=(str(watch.id),), max_age=int(watch.interval_seconds * 1000))

    def queue_for(self, kind: str) -> str:
        """The telegram queue for the runs that use the Telegram session, the watches queue for the others."""
        pinned = kind in TELEGRAM_KINDS or (self.telegram_account and kind in WITH_AN_ACCOUNT)
        return TELEGRAM if pinned else WATCHES

    def serve(self, handlers: Handlers) -> None:
        self.handlers = handlers

    def depths(self) -> dict[str, QueueDepth] | None:
        """The messages of each queue, read from RabbitMQ (a passive count, nothing consumed); None on Redis,
        whose broker keeps no such count. Raises when the broker cannot be reached."""
        counts = getattr(self.broker, "get_queue_message_counts", None)
        if counts is None:
            self.broker.client.ping()  # type: ignore[attr-defined]  # the Redis broker's client
            return None
        return {name: QueueDepth(*counts(self.queue_name(name))) for name in QUEUES}

    def close(self) -> None:
        self.broker.close()

    def _declare(self) -> None:
        import dramatiq

        def analyse(sha256: str) -> None:
            self._handlers().analyse(sha256)

        def run_watch(watch_id: str) -> None:
            self._handlers().run_watch(uuid.UUID(watch_id))

        for name, actor_name, function in (
            (ANALYSE, "analyse", analyse),
            (WATCHES, "run_watch", run_watch),
            (TELEGRAM, "run_telegram_watch", run_watch),
        ):
            declare = dramatiq.actor(actor_name=actor_name, queue_name=self.queue_name(name), broker=self.broker)
            self.actors[name] = declare(function)

    def _handlers(self) -> Handlers:
        if self.handlers is None:
            raise RuntimeError("this process only enqueues; run `impwatch worker --queues ...` to consume")
        return self.handlers


@dataclass
class BrokerExecutor:
    """An `AnalysisExecutor` across machines: enqueues the sha256 on the analyse queue and returns once a worker
    has stored the analysis (polling its `media_analysis` row), or raises `AnalysisNotStored` at the deadline."""

    db_engine: Engine
    queue: TaskQueue
    deadline_seconds: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def analyse(self, sha256: str) -> bool:
        if self._stored(sha256):
            return False
        self.queue.send_analysis(sha256)
        deadline = self.clock() + self.deadline_seconds
        pause = 0.05
        while not self._stored(sha256):
            if self.clock() > deadline:
                raise AnalysisNotStored(
                    f"media {sha256}: no analysis stored within {self.deadline_seconds:g} s of enqueueing it on "
                    f"{self.queue.queue_name(ANALYSE)!r}; is an `impwatch worker --queues analyse` running on the "
                    "same database and media folder (IMPWATCH_DATA_DIR)? Retried on the watch's next run."
                )
            self.sleep(pause)
            pause = min(pause * 2, 1.0)
        return True

    def _stored(self, sha256: str) -> bool:
        with Session(self.db_engine) as session:
            return session.get(MediaAnalysis, sha256) is not None


@dataclass(frozen=True)
class WatchRunEnqueuer:
    """The scheduler's run of a watch when a broker is configured: only enqueue it (the consumers run it)."""

    db_engine: Engine
    queue: TaskQueue

    def run(self, watch_id: uuid.UUID) -> None:
        with Session(self.db_engine) as session:
            watch = session.get(Watch, watch_id)
        if watch is not None:
            self.queue.send_watch_run(watch)
