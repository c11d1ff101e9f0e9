"""What runs on a schedule, wired from the `Runtime`: the watch runner (with alerts and webhooks as its hooks),
the webhook dispatcher and the retention job, on the one scheduler that drives them (`impwatch serve`,
`impwatch worker`). Each piece of scheduled work is its domain's `jobs` module; this module only builds and
registers them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import httpx

import app.alerts.metrics  # noqa: F401  (raised by the watches run here: served from the start, as the others are)
from app.alerts import service
from app.alerts.pages import PageFetcher
from app.alerts.text import record_text_signals
from app.jobs import RETENTION_JOB_ID, build_retention_job
from app.runtime import Runtime
from app.webhooks import service as webhook_service
from app.webhooks.deadline import DeadlineTransport
from app.webhooks.jobs import DISPATCH_JOB_ID, WebhookDispatcher
from watchers.analysis import LocalExecutor
from watchers.jobs import WatchRunner
from watchers.scheduler import WatchScheduler


def build_watch_runner(runtime: Runtime) -> WatchRunner:
    settings = runtime.settings
    return WatchRunner(
        db_engine=runtime.db_engine,
        analysis=LocalExecutor(runtime.db_engine, runtime.media_store, runtime.workers, runtime.matchers),
        media_store=runtime.media_store,
        source_context=runtime.source_context(),
        on_detections=partial(
            service.record_detections,
            public_base_url=settings.public_base_url,
            campaign_terms=tuple(settings.campaign_terms),
        ),
        on_post=partial(
            record_text_signals,
            watchlists=runtime.text_watchlists,
            public_base_url=settings.public_base_url,
            campaign_terms=tuple(settings.campaign_terms),
            pages=linked_pages(runtime),
        ),
        batch_limit=settings.watch_batch_limit,
        media_max_attempts=settings.media_max_attempts,
        history_pages=settings.history_pages_per_run,
        edit_window=timedelta(hours=settings.edit_window_hours),
        on_failure=partial(webhook_service.enqueue_watch_failed, public_base_url=settings.public_base_url),
    )


def linked_pages(runtime: Runtime) -> PageFetcher | None:
    """How linked pages are read when the installation asks for it: under the webhooks' address policy."""
    settings = runtime.settings
    if not settings.fetch_linked_pages:
        return None
    return PageFetcher(runtime.webhook_url_policy, settings.linked_page_timeout_seconds, settings.linked_page_max_bytes)


def build_scheduler(runtime: Runtime, runner: WatchRunner) -> WatchScheduler:
    settings = runtime.settings
    return WatchScheduler(
        runtime.db_engine,
        runner.run,
        sync_seconds=settings.scheduler_sync_seconds,
        jitter_seconds=settings.scheduler_jitter_seconds,
        threads=settings.scheduler_threads,
    )


def build_webhook_dispatcher(runtime: Runtime) -> WebhookDispatcher:
    """The dispatcher with its own HTTP client (redirects not followed, no proxy from the environment, each attempt
    held to its deadline); the caller closes it. A run stops draining a backlog before the next tick is due, so the
    scheduler never has to skip one (which it logs as a warning); the next run goes on with the backlog, and senders
    still at work go on beside it."""
    settings = runtime.settings
    return WebhookDispatcher(
        db_engine=runtime.db_engine,
        client=httpx.Client(transport=DeadlineTransport(trust_env=False), follow_redirects=False, trust_env=False),
        retry_schedule=list(settings.webhook_retry_schedule_seconds),
        timeout_seconds=settings.webhook_timeout_seconds,
        batch_size=settings.webhook_batch_size,
        concurrency=settings.webhook_concurrency,
        drain_seconds=0.8 * settings.webhook_dispatch_seconds,
        url_policy=runtime.webhook_url_policy,
    )


def register_webhook_dispatcher(scheduler: WatchScheduler, runtime: Runtime) -> WebhookDispatcher:
    """Send due webhook deliveries every `webhook_dispatch_seconds`, beside the watches."""
    dispatcher = build_webhook_dispatcher(runtime)
    scheduler.add_periodic(DISPATCH_JOB_ID, dispatcher.run, runtime.settings.webhook_dispatch_seconds)
    return dispatcher


def register_retention(scheduler: WatchScheduler, runtime: Runtime) -> None:
    scheduler.add_periodic(RETENTION_JOB_ID, build_retention_job(runtime), runtime.settings.retention_check_seconds)


@contextmanager
def scheduled_work(runtime: Runtime) -> Iterator[WatchScheduler]:
    """The watches, the webhook dispatcher and the retention job, running from entry to exit: inside
    `impwatch serve` (the API's lifespan) or alone in `impwatch worker`.

    At exit the process is stopping: watch runs end after the item at hand and the face workers are stopped at once
    (an analysis cut short is done again at the next start), so a stop never waits for a whole run of videos, and a
    supervisor's kill after its grace period finds no face worker to orphan."""
    runner = build_watch_runner(runtime)
    scheduler = build_scheduler(runtime, runner)
    dispatcher = register_webhook_dispatcher(scheduler, runtime)
    register_retention(scheduler, runtime)
    scheduler.start()
    try:
        yield scheduler
    finally:
        runner.stop()
        runtime.workers.close()
        scheduler.shutdown()
        dispatcher.close()
