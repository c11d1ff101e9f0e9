"""A consuming `impwatch worker --queues ...`: a Dramatiq worker on the chosen queues in this process, with the
handlers its actors call (analysis in this process's face worker pool, watch runs with analysis handed back to the
analyse queue), until stopped."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Collection

from app.queue.broker import ANALYSE, QUEUES, TELEGRAM, WATCHES, Handlers, TaskQueue
from app.queue.locks import WatchRunLocks
from app.runtime import Runtime
from watchers.analysis import LocalExecutor
from watchers.media_store import MediaMissing

log = logging.getLogger(__name__)


def parse_queues(text: str) -> list[str]:
    """`analyse,telegram` as the queue names; ValueError naming what is unknown."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in QUEUES]
    if unknown or not names:
        raise ValueError(f"unknown queue {', '.join(unknown) or '(none given)'}; the queues are {', '.join(QUEUES)}")
    return list(dict.fromkeys(names))


def default_threads(runtime: Runtime, queues: Collection[str]) -> int:
    """Threads taking messages: one per face worker (at least one) for analyses, the scheduler's threads for watch
    runs (they mostly wait for analyses), one for Telegram (one client, one run at a time)."""
    settings = runtime.settings
    threads = max(1, settings.face_workers) if ANALYSE in queues else 0
    threads += settings.scheduler_threads if WATCHES in queues else 0
    return threads + (1 if TELEGRAM in queues else 0)


def consume(runtime: Runtime, queues: Collection[str], threads: int, stop: threading.Event) -> None:
    """Take messages from `queues` with `threads` threads until `stop` is set; then in-flight watch runs end after
    their item at hand and the face workers stop (a message not finished is delivered again: at least once)."""
    import dramatiq

    from app.scheduling import build_watch_runner

    task_queue: TaskQueue = runtime.task_queue
    local = LocalExecutor(runtime.db_engine, runtime.media_store, runtime.workers, runtime.matchers)
    runner = build_watch_runner(runtime, telegram=TELEGRAM in queues) if {WATCHES, TELEGRAM} & set(queues) else None
    locks = WatchRunLocks(runtime.db_engine)

    def analyse(sha256: str) -> None:
        log.info("analyse %s: started", sha256)
        try:
            analysed = local.analyse(sha256)
        except MediaMissing:
            log.error(
                "analyse %s: the content is not in this machine's media folder (%s); every machine needs the same "
                "IMPWATCH_DATA_DIR/media (a shared volume). Retried, then dead-lettered.",
                sha256,
                runtime.media_store.root,
            )
            raise
        log.info("analyse %s: %s", sha256, "stored" if analysed else "already stored")

    def run_watch(watch_id: uuid.UUID) -> None:
        if runner is None:
            raise RuntimeError("this process consumes no watch queue")
        if not locks.run_alone(watch_id, runner.run):
            log.info("watch %s: a run is in progress elsewhere; this one is dropped", watch_id)

    task_queue.serve(Handlers(analyse=analyse, run_watch=run_watch))
    worker = dramatiq.Worker(
        task_queue.broker, queues={task_queue.queue_name(name) for name in queues}, worker_threads=threads
    )
    worker.queue_prefetch = threads  # a busy process does not hold messages another machine could take
    worker.start()
    try:
        stop.wait()
    finally:
        if runner is not None:
            runner.stop()
        if Runtime.workers.is_built(runtime):
            runtime.workers.close()  # an analysis cut short fails, and is retried by the broker
        worker.stop(timeout=10_000)
