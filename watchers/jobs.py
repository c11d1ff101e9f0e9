"""The scheduled work of the watchers: one run of one watch (`WatchRunner.run`), which `watchers.scheduler` runs on
each watch's interval. A run finishes the media left from before, reads the new posts, a piece of the watch's
history (`watchers.history`), the recent posts again for replaced media (`watchers.edits`), analyses the media,
and records what could not be seen (`watchers.coverage`).

Every run has its own sessions and its own try/except, so one broken watch never stops the others. A post is
committed together with the cursor that moves past it; then its text is read (the `on_post` hook, in a transaction
of its own that may fail without failing the run), then each of its media items is committed on its own; the
analysis of a media item's content is handed over by sha256 and stores its result in its own transaction.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import utcnow
from watchers import coverage, edits, history, metrics, pipeline, service
from watchers.analysis import AnalysisExecutor
from watchers.media_store import MediaStore
from watchers.models import Post, Watch, WatchState
from watchers.pipeline import DetectionSink, PostSink
from watchers.sources.base import Source, SourceContext
from watchers.sources.registry import build_source, parse_source_config

log = logging.getLogger(__name__)


@dataclass
class RunReport:
    posts_stored: int = 0
    media_analysed: int = 0
    media_cached: int = 0
    media_failed: int = 0
    """Items left `failed`, retried on the next run."""
    alerts_failed: list[str] = field(default_factory=list)
    """Why the alerts of each item whose alerts could not be recorded were not (the item is retried)."""
    media_skipped: list[str] = field(default_factory=list)
    """Why each item skipped for good during the run was skipped."""
    media_awaiting: list[str] = field(default_factory=list)
    """Why each item still waiting for its file waits (each item counted once per run)."""
    awaiting_ids: set[uuid.UUID] = field(default_factory=set)
    media_from_edits: int = 0
    """Media items added because a recent post's media was replaced by an edit."""
    error: str | None = None


@dataclass
class WatchRunner:
    """Everything one watch run needs, injected: the database, the media store, where media is analysed, the
    sources' context, a clock."""

    db_engine: Engine
    analysis: AnalysisExecutor
    media_store: MediaStore
    source_context: SourceContext
    on_detections: DetectionSink
    batch_limit: int = 50
    media_max_attempts: int = 5
    history_pages: int = 3
    """Requests a run may spend reading a watch's history back to its `since` (`watchers.history`)."""
    edit_window: timedelta = timedelta(hours=24)
    """How far back each run reads posts again for media replaced by an edit (`watchers.edits`); 0: never."""
    clock: Callable[[], datetime] = utcnow
    source_factory: Callable[[Watch, SourceContext], Source] = field(
        default=lambda watch, context: build_source(parse_source_config(watch.config), context)
    )
    on_failure: Callable[[Session, Watch, Exception], object] | None = None
    """Called in the transaction that records a failed run (the `watch.failed` webhook hook)."""
    on_post: PostSink | None = None
    """Called with every new post once it is stored, in a transaction of its own (the text signals hook)."""
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the process stops (`stop`): runs end after the item at hand, and what fails meanwhile (an analysis
    whose face worker was stopped) is not held against the watch; unfinished media stays pending."""

    def stop(self) -> None:
        self.stopping.set()

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
                self._read_history(session, watch, source, report)
                self._recheck_edits(session, watch, source, report)
                self._finish_media(session, watch, source, report)
                _warn_of_missing_files(watch, report)
                if self.stopping.is_set():
                    raise RunStopped("the process is stopping; the rest of the run waits for the next start")
                now = self.clock()
                service.record_run_success(watch, now, report.media_failed, report.media_skipped, report.alerts_failed)
                coverage.refresh(session, watch, coverage.source_notes(source))
                session.add(watch)
                session.commit()
                metrics.WATCH_RUNS.labels(source=watch.kind, outcome="success").inc()
                metrics.WATCH_LAST_SUCCESS.labels(str(watch.id), watch.kind, watch.target).set(now.timestamp())
        except Exception as exc:
            report.error = str(exc) or exc.__class__.__name__
            if self.stopping.is_set():
                log.info("watch %s stopped with the process: %s", watch_id, report.error)
                return report
            log.warning("watch %s failed: %s", watch_id, exc, exc_info=not _is_source_error(exc))
            self._record_failure(watch_id, exc)
        return report

    def _is_due(self, watch: Watch) -> bool:
        """False while a watch waits for a person, or for the time its source asked to be retried at."""
        if watch.state == WatchState.NEEDS_ATTENTION and not watch.run_requested:
            return False
        return not (watch.state == WatchState.RETRYING and watch.retry_at and watch.retry_at > self.clock())

    def _fetch_posts(self, session: Session, watch: Watch, source: Source, report: RunReport) -> None:
        for fetched in source.fetch(watch.cursor, self.batch_limit):
            if self.stopping.is_set():
                return
            try:
                stored = pipeline.store_post(session, watch, fetched)
                session.commit()
            except Exception:
                session.rollback()
                raise
            if stored is not None:
                report.posts_stored += 1
                metrics.POSTS_SCANNED.labels(source=watch.kind).inc()
                self._read_text(session, stored)

    def _read_text(self, session: Session, post: Post) -> None:
        """Hand a new post to the text hook; a failure there is logged and counted, and never fails the run (the
        post and its media are already stored and go on as usual)."""
        if self.on_post is None:
            return
        try:
            with metrics.TEXT_SECONDS.time():
                self.on_post(session, post)
                session.commit()
        except Exception:
            session.rollback()
            metrics.TEXT_FAILURES.inc()
            log.exception("could not read the text of post %s (%s)", post.id, post.permalink)

    def _read_history(self, session: Session, watch: Watch, source: Source, report: RunReport) -> None:
        def stored() -> None:
            metrics.POSTS_SCANNED.labels(source=watch.kind).inc()

        try:
            report.posts_stored += history.read_history(session, watch, source, self.history_pages, stored)
            session.commit()
        except Exception:
            session.rollback()
            raise

    def _recheck_edits(self, session: Session, watch: Watch, source: Source, report: RunReport) -> None:
        try:
            report.media_from_edits += edits.recheck_recent(
                session, watch, source, self.edit_window, self.clock(), self.history_pages
            )
            session.commit()
        except Exception:
            session.rollback()
            raise

    def _finish_media(self, session: Session, watch: Watch, source: Source, report: RunReport) -> None:
        """Fetch and analyse the pending media; an item waiting for its file is looked at once per run."""
        for item, post in pipeline.pending_media(session, watch, self.media_max_attempts):
            if self.stopping.is_set():
                return
            if item.id in report.awaiting_ids:
                continue
            try:
                outcome = pipeline.process_media(
                    session,
                    item,
                    post,
                    source,
                    self.media_store,
                    self.analysis,
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
            if outcome.alerts_failed is not None:
                report.alerts_failed.append(outcome.alerts_failed)
            if outcome.skipped is not None:
                report.media_skipped.append(outcome.skipped)
            if outcome.awaiting is not None:
                report.media_awaiting.append(outcome.awaiting)
                report.awaiting_ids.add(item.id)
            metrics.MEDIA_SCANNED.labels(source=watch.kind, kind=item.kind, outcome=outcome.label).inc()

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


def _warn_of_missing_files(watch: Watch, report: RunReport) -> None:
    """One warning per run, however many files are missing (an export of a big channel misses hundreds)."""
    if not report.media_awaiting:
        return
    count = len(report.media_awaiting)
    log.warning(
        "watch %s (%s): %d media file%s not in the folder yet, analysed when they appear; first: %s",
        watch.id,
        watch.target,
        count,
        "s are" if count > 1 else " is",
        report.media_awaiting[0],
    )


class RunStopped(Exception):
    """A run cut short because the process stops."""


def _is_source_error(error: Exception) -> bool:
    from watchers.sources.base import SourceError

    return isinstance(error, SourceError)
