"""Scheduled work: one job per enabled watch, kept in step with the watch table by a sync job.

Every run has its own sessions and its own try/except, so one broken watch never stops the others. A post is
committed together with the cursor that moves past it, then each of its media items is committed on its own.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from watchers import metrics, service
from watchers.models import Watch, WatchState
from watchers.scanning import MediaAnalysis
from watchers.service import DetectionSink, MediaStore
from watchers.sources.base import Source, SourceContext
from watchers.sources.registry import build_source, parse_source_config
from watchers.workers import FaceWorkers
from watchlist.service import MatcherCache

log = logging.getLogger(__name__)
SYNC_JOB_ID = "watch-table-sync"


@dataclass
class RunReport:
    posts_stored: int = 0
    media_analysed: int = 0
    media_cached: int = 0
    media_failed: int = 0
    error: str | None = None


@dataclass
class WatchRunner:
    """Everything one watch run needs, injected: the database, the face workers, the sources' context, a clock."""

    db_engine: Engine
    workers: FaceWorkers
    matchers: MatcherCache
    media_store: MediaStore
    source_context: SourceContext
    on_detections: DetectionSink
    batch_limit: int = 50
    media_max_attempts: int = 5
    clock: Callable[[], datetime] = utcnow
    source_factory: Callable[[Watch, SourceContext], Source] = field(
        default=lambda watch, context: build_source(parse_source_config(watch.config), context)
    )
    on_failure: Callable[[Session, Watch, Exception], None] | None = None
    """Called in the transaction that records a failed run (the `watch.failed` webhook hook)."""

    def run(self, watch_id: uuid.UUID) -> RunReport:
        """Run one watch now: retry its unfinished media, fetch new posts, analyse their media."""
        report = RunReport()
        try:
            with Session(self.db_engine, expire_on_commit=False) as session:
                watch = session.get(Watch, watch_id)
                if watch is None or not self._is_due(watch):
                    return report
                source = self.source_factory(watch, self.source_context)
                self._finish_media(session, watch, source, report)
                self._fetch_posts(session, watch, source, report)
                self._finish_media(session, watch, source, report)
                service.record_run_success(watch, self.clock(), report.media_failed)
                session.add(watch)
                session.commit()
                metrics.WATCH_RUNS.labels(source=watch.kind, outcome="success").inc()
                metrics.WATCH_LAST_SUCCESS.labels(str(watch.id), watch.kind, watch.target).set(
                    watch.last_success_at.timestamp()
                )
        except Exception as exc:
            log.warning("watch %s failed: %s", watch_id, exc, exc_info=not _is_source_error(exc))
            report.error = str(exc) or exc.__class__.__name__
            self._record_failure(watch_id, exc)
        return report

    def _is_due(self, watch: Watch) -> bool:
        """False while a watch waits for a person, or for the time its source asked to be retried at."""
        if watch.state == WatchState.NEEDS_ATTENTION and not watch.run_requested:
            return False
        return not (watch.state == WatchState.RETRYING and watch.retry_at and watch.retry_at > self.clock())

    def _fetch_posts(self, session: Session, watch: Watch, source: Source, report: RunReport) -> None:
        for fetched in source.fetch(watch.cursor, self.batch_limit):
            try:
                stored = service.store_post(session, watch, fetched) is not None
                session.commit()
            except Exception:
                session.rollback()
                raise
            if stored:
                report.posts_stored += 1
                metrics.POSTS_SCANNED.labels(source=watch.kind).inc()

    def _finish_media(self, session: Session, watch: Watch, source: Source, report: RunReport) -> None:
        for item, post in service.pending_media(session, watch, self.media_max_attempts):
            try:
                outcome = service.process_media(
                    session,
                    item,
                    post,
                    source,
                    self.media_store,
                    self._analyse,
                    self.on_detections,
                    self.media_max_attempts,
                )
                session.commit()
            except Exception:
                session.rollback()
                raise
            report.media_analysed += outcome.analysed
            report.media_cached += outcome.cached
            report.media_failed += outcome.failed is not None
            metrics.MEDIA_SCANNED.labels(source=watch.kind, kind=item.kind, outcome=outcome.label).inc()

    def _analyse(self, path: Path) -> MediaAnalysis:
        with Session(self.db_engine) as session:
            matcher = self.matchers.get(session)
        return self.workers.analyse(path, matcher)

    def _record_failure(self, watch_id: uuid.UUID, error: Exception) -> None:
        try:
            with Session(self.db_engine) as session:
                watch = session.get(Watch, watch_id)
                if watch is not None:
                    metrics.WATCH_RUNS.labels(source=watch.kind, outcome="failure").inc()
                    service.record_run_failure(watch, self.clock(), error)
                    session.add(watch)
                    if self.on_failure is not None:
                        self.on_failure(session, watch, error)
                    session.commit()
        except Exception:
            log.exception("could not record the failure of watch %s", watch_id)


def _is_source_error(error: Exception) -> bool:
    from watchers.sources.base import SourceError

    return isinstance(error, SourceError)


class WatchScheduler:
    """APScheduler in a background thread: one interval job per enabled watch, coalesced, never two at once.

    A sync job reads the watch table every `sync_seconds` (so changes made through the API or the CLI, in this
    process or another, are followed), honours "run now" requests and retry times, and drops removed watches.
    """

    def __init__(
        self,
        db_engine: Engine,
        run_watch: Callable[[uuid.UUID], object],
        sync_seconds: float = 5.0,
        jitter_seconds: float = 10.0,
        threads: int = 4,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._db_engine = db_engine
        self._run_watch = run_watch
        self._jitter = jitter_seconds
        self._sync_seconds = sync_seconds
        self._clock = clock
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(threads)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )

    def start(self) -> None:
        self._scheduler.add_job(
            self.sync, IntervalTrigger(seconds=self._sync_seconds), id=SYNC_JOB_ID, next_run_time=self._clock()
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        self._scheduler.shutdown(wait=True)

    def add_periodic(self, job_id: str, func: Callable[[], object], seconds: float) -> None:
        """Run another piece of scheduled work (the webhook dispatcher, say) beside the watches."""
        self._scheduler.add_job(
            func, IntervalTrigger(seconds=seconds), id=job_id, replace_existing=True, next_run_time=self._clock()
        )

    @property
    def watch_job_ids(self) -> set[str]:
        return {job.id for job in self._scheduler.get_jobs() if job.func == self._run_watch}

    def sync(self) -> None:
        try:
            with Session(self._db_engine) as session:
                watches = list(session.exec(select(Watch)))
                self._follow(watches)
                self._honour_requests(session, watches)
        except Exception:
            log.exception("watch table sync failed; retried at the next sync")

    def _follow(self, watches: list[Watch]) -> None:
        wanted = {str(w.id): w for w in watches if w.enabled and w.state != WatchState.NEEDS_ATTENTION}
        for job_id in self.watch_job_ids - wanted.keys():
            self._scheduler.remove_job(job_id)
        for job_id, watch in wanted.items():
            job = self._scheduler.get_job(job_id)
            interval = timedelta(seconds=watch.interval_seconds)
            if job is None:
                first_run = self._clock() + timedelta(seconds=random.uniform(0, min(self._jitter, 1.0)))
                self._add_job(watch, first_run)
            elif job.trigger.interval != interval:
                sooner = self._clock() + interval
                self._add_job(watch, min(job.next_run_time, sooner) if job.next_run_time else sooner)

    def _add_job(self, watch: Watch, first_run: datetime | None) -> None:
        self._scheduler.add_job(
            self._run_watch,
            IntervalTrigger(seconds=watch.interval_seconds, jitter=self._jitter or None),
            args=[watch.id],
            id=str(watch.id),
            name=f"{watch.kind}:{watch.target}",
            replace_existing=True,
            next_run_time=first_run,
        )

    def _honour_requests(self, session: Session, watches: list[Watch]) -> None:
        now = self._clock()
        for watch in watches:
            due = self._requested_time(watch, now)
            if due is None:
                continue
            try:
                self._scheduler.modify_job(str(watch.id), next_run_time=due)
            except JobLookupError:
                continue
            if watch.run_requested:
                watch.run_requested = False
                session.add(watch)
        session.commit()

    @staticmethod
    def _requested_time(watch: Watch, now: datetime) -> datetime | None:
        if not watch.enabled:
            return None
        if watch.run_requested:
            return now
        if watch.state == WatchState.RETRYING and watch.retry_at is not None:
            return max(watch.retry_at, now)
        return None
