"""Scheduled work of the service: the watch runner wired to alerts, and the scheduler that drives it."""

from __future__ import annotations

from app import service
from app.runtime import Runtime
from watchers.jobs import WatchRunner, WatchScheduler


def build_watch_runner(runtime: Runtime) -> WatchRunner:
    settings = runtime.settings
    return WatchRunner(
        db_engine=runtime.db_engine,
        workers=runtime.workers,
        matchers=runtime.matchers,
        media_store=runtime.media_store,
        source_context=runtime.source_context(),
        on_detections=service.record_detections,
        batch_limit=settings.watch_batch_limit,
        media_max_attempts=settings.media_max_attempts,
    )


def build_scheduler(runtime: Runtime) -> WatchScheduler:
    settings = runtime.settings
    runner = build_watch_runner(runtime)
    return WatchScheduler(
        runtime.db_engine,
        runner.run,
        sync_seconds=settings.scheduler_sync_seconds,
        jitter_seconds=settings.scheduler_jitter_seconds,
        threads=settings.scheduler_threads,
    )
