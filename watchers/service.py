"""Watch management: creating, changing and removing watches, asking for a run, and recording how a run went.

Services never commit: a route, a command or `watchers.jobs` (a scheduled run) owns the transaction. What a run
does with posts and media is `watchers.pipeline`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core.clock import utcnow
from core.errors import Conflict, InputRejected, NotFound
from watchers import history
from watchers.models import Watch, WatchState
from watchers.schemas import WatchCreate, WatchUpdate
from watchers.sources.base import NeedsAttention, RetryLater
from watchers.sources.registry import parse_source_config, target_of


class DuplicateWatch(Conflict):
    pass


@dataclass(frozen=True)
class WatchIntervals:
    """How often watches run: `default_seconds` when a watch names no interval, never more often than every
    `min_seconds` (a source polled faster gets the installation rate-limited or banned)."""

    default_seconds: int
    min_seconds: int

    def check(self, interval_seconds: int | None) -> None:
        """Refuse (422 `interval_too_short`) an interval under the minimum; None means the default."""
        if interval_seconds is not None and interval_seconds < self.min_seconds:
            raise InputRejected("interval_too_short", f"interval_seconds must be at least {self.min_seconds}")


def create_watch(session: Session, data: WatchCreate, intervals: WatchIntervals) -> Watch:
    """A new watch; refused when its target is already watched, its interval is under the minimum or its `since`
    is in the future."""
    intervals.check(data.interval_seconds)
    config = parse_source_config(data.source.model_dump())
    target = target_of(config)
    existing = session.exec(select(Watch).where(Watch.kind == config.kind, Watch.target == target)).first()
    if existing is not None:
        raise DuplicateWatch("duplicate_watch", f"{config.kind} {target} is already watched (watch {existing.id})")
    watch = Watch(
        kind=config.kind,
        target=target,
        config=config.model_dump(),
        interval_seconds=data.interval_seconds or intervals.default_seconds,
        enabled=data.enabled,
        since=history.check_since(data.since, utcnow()),
    )
    session.add(watch)
    session.flush()
    return watch


def get_watch(session: Session, watch_id: uuid.UUID) -> Watch:
    watch = session.get(Watch, watch_id)
    if watch is None:
        raise NotFound(f"watch {watch_id} not found")
    return watch


def list_watches(session: Session) -> list[Watch]:
    return list(session.exec(select(Watch).order_by(col(Watch.created_at), col(Watch.id))))


def update_watch(session: Session, watch: Watch, data: WatchUpdate, intervals: WatchIntervals) -> Watch:
    """Change the interval (not under the minimum), pause or resume (which also clears an error state)."""
    intervals.check(data.interval_seconds)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if changes.get("enabled") and not watch.enabled:
        watch.state, watch.retry_at, watch.consecutive_failures = WatchState.OK, None, 0
    for field, value in changes.items():
        setattr(watch, field, value)
    watch.updated_at = utcnow()
    session.add(watch)
    session.flush()
    return watch


def request_run(session: Session, watch: Watch) -> Watch:
    """Ask the scheduler to run the watch now (seen at its next sync, within seconds, in any process)."""
    watch.run_requested = True
    if watch.state == WatchState.NEEDS_ATTENTION:
        watch.state = WatchState.OK
    watch.retry_at = None
    session.add(watch)
    session.flush()
    return watch


def delete_watch(session: Session, watch: Watch) -> None:
    session.delete(watch)
    session.flush()


def record_run_success(
    watch: Watch,
    now: datetime,
    media_failures: int,
    media_skipped: Sequence[str] = (),
    alerts_failed: Sequence[str] = (),
) -> None:
    """A run that finished: `last_error` says how many downloads failed (retried on the next run), how many media
    items' alerts could not be recorded (retried too) and, apart from them, how many media items were skipped for
    good; each with the first reason."""
    watch.last_run_at = watch.last_success_at = now
    watch.state, watch.retry_at, watch.consecutive_failures = WatchState.OK, None, 0
    notes = []
    if media_failures:
        notes.append(f"{media_failures} media download(s) failed; retried on the next run")
    if alerts_failed:
        notes.append(
            f"{len(alerts_failed)} media item(s) with alerts not recorded; retried on the next run: "
            f"{_first_of(alerts_failed)}"
        )
    if media_skipped:
        count = len(media_skipped)
        notes.append(f"{count} media item{'s' if count > 1 else ''} skipped for good: {_first_of(media_skipped)}")
    watch.last_error = "; ".join(notes)[:2000] if notes else None


def _first_of(reasons: Sequence[str]) -> str:
    """The first reason, and how many more there are."""
    return reasons[0] + (f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else "")


def record_run_failure(watch: Watch, now: datetime, error: Exception) -> None:
    watch.last_run_at = now
    watch.consecutive_failures += 1
    if isinstance(error, RetryLater):
        watch.state, watch.retry_at = WatchState.RETRYING, now + timedelta(seconds=error.seconds)
        watch.last_error = error.reason
    elif isinstance(error, NeedsAttention):
        watch.state, watch.retry_at, watch.last_error = WatchState.NEEDS_ATTENTION, None, error.reason
    else:
        watch.last_error = f"{error.__class__.__name__}: {error}"[:2000]
