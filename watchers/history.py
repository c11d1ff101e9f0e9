"""Reading a channel back to a date (`since`), a bounded piece per run, without starving its new posts.

A watch created with `since` starts like any other: its live cursor begins at the newest posts. Each run, after
the new posts, it also reads its history back towards `since`: at most `max_pages` requests (t.me/s pages, or
Telethon's batches from `offset_date`), stored without moving the live cursor, and records where it stopped in
`Watch.history_position`, so a long history is read over several runs. Posts already stored are skipped, so the
history and the live posts never repeat one another. A source without history (an export is read from its start,
a drop folder holds what it holds) has its history complete at once.

`parse_since` reads what people type: an ISO 8601 date or time (`2026-11-01`, `2026-11-01T08:00+05:00`) or a span
back from now (`7d`, `36h`, `2w`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from core.errors import InputRejected
from watchers.models import Watch
from watchers.sources.base import HistorySource, Source

_SPAN = re.compile(r"^\s*(?P<count>\d{1,5})\s*(?P<unit>[hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_since(text: str, now: datetime) -> datetime:
    """`since` as typed (an ISO 8601 date or time, or `7d`, `36h`, `2w` back from `now`), as an aware UTC time;
    a time without an offset is UTC. Refused (422 `invalid_since`) when unreadable."""
    span = _SPAN.match(text)
    if span is not None:
        return now - int(span["count"]) * _UNITS[span["unit"].lower()]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise InputRejected(
            "invalid_since", f"since {text!r} is neither an ISO 8601 date or time nor a span such as 7d"
        ) from error
    return as_utc(moment)


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def check_since(since: datetime | None, now: datetime) -> datetime | None:
    """`since` as stored: UTC, and not in the future (422 `since_in_future`)."""
    if since is None:
        return None
    moment = as_utc(since)
    if moment > now:
        raise InputRejected("since_in_future", "since must be a time in the past")
    return moment


def read_history(session: Session, watch: Watch, source: Source, max_pages: int, on_stored: Callable[[], None]) -> int:
    """One run's piece of the watch's history; the posts stored. Each post is committed with the new position
    only at the end of the piece, so a failure halfway reads the piece again (stored posts are skipped)."""
    from watchers import pipeline  # the media pipeline: watch management (which checks `since`) does not load it

    if watch.since is None or watch.history_complete:
        return 0
    if not isinstance(source, HistorySource):
        watch.history_complete = True
        session.add(watch)
        return 0
    batch = source.fetch_history(watch.since, watch.history_position, max_pages)
    stored = 0
    for fetched in batch.posts:
        if pipeline.store_post(session, watch, fetched, advance_cursor=False) is not None:
            stored += 1
            on_stored()
    watch.history_position = batch.position
    watch.history_complete = batch.complete
    session.add(watch)
    return stored
