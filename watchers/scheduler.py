"""The scheduler: APScheduler in a background thread, running each enabled watch on its interval and any other
scheduled work (`add_periodic`) beside the watches."""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.clock import utcnow
from watchers.models import Watch, WatchState

log = logging.getLogger(__name__)
SYNC_JOB_ID = "watch-table-sync"


class WatchScheduler:
    """APScheduler in a background thread: one interval job per enabled watch, coalesced, never two at once.

    A sync job reads the watch table every `sync_seconds` (so changes made through the API or the CLI, in this
    process or another, are followed), honours "run now" requests and retry times, and drops removed watches.

    APScheduler's `shutdown` holds its job store lock while it waits for running jobs, and a sync asks the job store
    for its jobs: a sync running at shutdown would wait for that lock forever. So `shutdown` first waits for a
    running sync to end, and no sync touches the scheduler once shutdown has begun.
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
        self._sync_lock = threading.Lock()
        self._stopping = False
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
        with self._sync_lock:
            self._stopping = True
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
        with self._sync_lock:
            if not self._stopping:
                self._sync()

    def _sync(self) -> None:
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
