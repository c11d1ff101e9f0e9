"""What runs on a schedule, wired from the `Runtime`: the watch runner (with alerts and webhooks as its hooks),
the webhook dispatcher and the retention job, on the one scheduler that drives them (`impwatch serve`,
`impwatch worker`). Each piece of scheduled work is its domain's `jobs` module; this module only builds and
registers them."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import httpx

import app.alerts.metrics  # noqa: F401  (raised by the watches run here: served from the start, as the others are)
from app.alerts import service
from app.alerts.pages import PageFetcher
from app.alerts.text import record_text_signals
from app.jobs import RETENTION_JOB_ID, build_retention_job
from app.notifications import jobs as notification_jobs
from app.notifications.email import EmailSender, SmtpServer
from app.notifications.telegram import BotApi, TelegramBots
from app.reports.jobs import BOT_THREAD_NAME, ReportingBot
from app.runtime import Runtime
from app.webhooks import service as webhook_service
from app.webhooks.deadline import DeadlineTransport
from app.webhooks.jobs import DISPATCH_JOB_ID, WebhookDispatcher
from watchers.analysis import AnalysisExecutor, LocalExecutor
from watchers.jobs import WatchRunner
from watchers.scheduler import WatchScheduler

log = logging.getLogger(__name__)


def build_watch_runner(runtime: Runtime, telegram: bool | None = None) -> WatchRunner:
    """A watch runner with the process's Telegram client unless `telegram` is False; by default only without a
    broker (with one, the telegram queue's consumer is the one process that uses the session)."""
    settings = runtime.settings
    return WatchRunner(
        db_engine=runtime.db_engine,
        analysis=analysis_executor(runtime),
        media_store=runtime.media_store,
        source_context=runtime.source_context(telegram=not settings.broker_url if telegram is None else telegram),
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


def analysis_executor(runtime: Runtime) -> AnalysisExecutor:
    """Where face analysis runs: in this process's face worker pool, or, with a broker configured, on the analyse
    queue's workers (handed the sha256; the media folder is shared)."""
    if not runtime.settings.broker_url:
        return LocalExecutor(runtime.db_engine, runtime.media_store, runtime.workers, runtime.matchers)
    from app.queue.broker import BrokerExecutor

    return BrokerExecutor(runtime.db_engine, runtime.task_queue, runtime.settings.broker_analysis_deadline_seconds)


def linked_pages(runtime: Runtime) -> PageFetcher | None:
    """How linked pages are read when the installation asks for it: under the webhooks' address policy."""
    settings = runtime.settings
    if not settings.fetch_linked_pages:
        return None
    return PageFetcher(runtime.webhook_url_policy, settings.linked_page_timeout_seconds, settings.linked_page_max_bytes)


def build_scheduler(runtime: Runtime, runner: WatchRunner) -> WatchScheduler:
    """The watches on their intervals: each run in this process, or, with a broker configured, only enqueued (on
    the telegram queue for Telethon sources, the watches queue for the others) for the consumers to run."""
    settings = runtime.settings
    run_watch: Callable[[uuid.UUID], object] = runner.run
    if settings.broker_url:
        from app.queue.broker import WatchRunEnqueuer

        run_watch = WatchRunEnqueuer(runtime.db_engine, runtime.task_queue).run
    return WatchScheduler(
        runtime.db_engine,
        run_watch,
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


def telegram_bots(runtime: Runtime) -> TelegramBots:
    """The process's Bot API clients (one per bot token, on one event loop); the caller closes them."""
    settings = runtime.settings
    return TelegramBots(
        BotApi(
            base_url=settings.telegram_bot_api_base_url,
            base_file_url=settings.telegram_bot_file_base_url,
            timeout_seconds=settings.notification_timeout_seconds,
        )
    )


def smtp_server(runtime: Runtime) -> SmtpServer:
    settings = runtime.settings
    return SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        ca_file=settings.smtp_ca_file,
        username=settings.smtp_username,
        password=settings.smtp_password,
        from_address=settings.smtp_from,
        timeout_seconds=settings.notification_timeout_seconds,
    )


def build_notification_dispatcher(runtime: Runtime, bots: TelegramBots) -> notification_jobs.NotificationDispatcher:
    """Telegram and email messages from the outbox, each kind by its own sender; the caller closes it."""
    settings = runtime.settings
    return notification_jobs.NotificationDispatcher(
        db_engine=runtime.db_engine,
        senders={"telegram": bots.send, "email": EmailSender(smtp_server(runtime)).send},
        retry_schedule=list(settings.notification_retry_schedule_seconds),
        public_base_url=settings.public_base_url,
        timeout_seconds=settings.notification_timeout_seconds,
        batch_size=settings.notification_batch_size,
        concurrency=settings.notification_concurrency,
        drain_seconds=0.8 * settings.notification_dispatch_seconds,
    )


def build_button_presses(runtime: Runtime, bots: TelegramBots) -> notification_jobs.ButtonPresses:
    """The reader of button presses; the reporting bot's token is left to the reporting bot, which hands them on."""
    token = runtime.settings.report_bot_token
    return notification_jobs.ButtonPresses(
        runtime.db_engine, bots, runtime.settings.public_base_url, skip_tokens=frozenset({token} if token else ())
    )


def build_reporting_bot(
    runtime: Runtime, bots: TelegramBots, presses: notification_jobs.ButtonPresses | None = None
) -> ReportingBot:
    """The reporting bot of `IMPWATCH_REPORT_BOT_TOKEN`, with the watches' face work and media store; ValueError
    when it has no token or no key for readers' hashes."""
    settings = runtime.settings
    if not settings.report_bot_token or not settings.report_bot_hash_key:
        raise ValueError("the reporting bot needs IMPWATCH_REPORT_BOT_TOKEN and IMPWATCH_REPORT_BOT_HASH_KEY")
    return ReportingBot(
        db_engine=runtime.db_engine,
        bots=bots,
        token=settings.report_bot_token,
        hash_key=settings.report_bot_hash_key,
        media_store=runtime.media_store,
        analysis=analysis_executor(runtime),
        source_context=runtime.source_context(telegram=not settings.broker_url),
        public_base_url=settings.public_base_url,
        campaign_terms=tuple(settings.campaign_terms),
        per_hour=settings.report_bot_rate_per_hour,
        max_bytes=settings.report_bot_max_bytes,
        poll_seconds=settings.report_bot_poll_seconds,
        presses=presses,
    )


@contextmanager
def reporting_bot_running(
    runtime: Runtime, bots: TelegramBots, presses: notification_jobs.ButtonPresses
) -> Iterator[None]:
    """The reporting bot's long polling in a thread of its own while the block runs, when a token is set."""
    if not runtime.settings.report_bot_token:
        yield
        return
    try:
        bot = build_reporting_bot(runtime, bots, presses)
    except ValueError as exc:
        log.error("the reporting bot does not run: %s", exc)
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=bot.run, args=(stop,), name=BOT_THREAD_NAME, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        bots.cancel_calls()  # the long poll in progress, so the stop does not wait it out
        thread.join(timeout=10)


@contextmanager
def registered_notifications(scheduler: WatchScheduler, runtime: Runtime) -> Iterator[None]:
    """The notification dispatcher, the reader of button presses and (with a token) the reporting bot, beside the
    watches, until exit."""
    settings = runtime.settings
    bots = telegram_bots(runtime)
    dispatcher = build_notification_dispatcher(runtime, bots)
    presses = build_button_presses(runtime, bots)
    scheduler.add_periodic(notification_jobs.DISPATCH_JOB_ID, dispatcher.run, settings.notification_dispatch_seconds)
    scheduler.add_periodic(notification_jobs.BUTTONS_JOB_ID, presses.run, settings.telegram_callback_poll_seconds)
    digests = notification_jobs.DailyDigests(runtime.db_engine)
    scheduler.add_periodic(notification_jobs.DIGEST_JOB_ID, digests.run, settings.notification_digest_check_seconds)
    try:
        with reporting_bot_running(runtime, bots, presses):
            yield
    finally:
        dispatcher.close()
        bots.close()


def register_retention(scheduler: WatchScheduler, runtime: Runtime) -> None:
    scheduler.add_periodic(RETENTION_JOB_ID, build_retention_job(runtime), runtime.settings.retention_check_seconds)


@contextmanager
def scheduled_work(runtime: Runtime) -> Iterator[WatchScheduler]:
    """The watches, the webhook and notification dispatchers, the button presses and the retention job, running
    from entry to exit: inside
    `impwatch serve` (the API's lifespan) or alone in `impwatch worker`.

    At exit the process is stopping: watch runs end after the item at hand and the face workers are stopped at once
    (an analysis cut short is done again at the next start), so a stop never waits for a whole run of videos, and a
    supervisor's kill after its grace period finds no face worker to orphan."""
    runner = build_watch_runner(runtime)
    scheduler = build_scheduler(runtime, runner)
    dispatcher = register_webhook_dispatcher(scheduler, runtime)
    register_retention(scheduler, runtime)
    with registered_notifications(scheduler, runtime):
        scheduler.start()
        try:
            yield scheduler
        finally:
            runner.stop()
            runtime.workers.close()
            scheduler.shutdown()
            dispatcher.close()
