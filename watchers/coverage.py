"""What a watch cannot see: media fetched only as a poster, media the source hides, files not in an export folder
yet, and notes a source gives about how it read its posts (dates resting on a configured time zone, say).

Recomputed at the end of every successful run and stored on the watch (`Watch.coverage`), so `GET /v1/watches`
says plainly what was not analysed. Never commits: the run owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session, col, select

from watchers.models import MediaItem, MediaStatus, Post, Watch
from watchers.schemas import WatchCoverage
from watchers.sources.base import Source


def source_notes(source: Source) -> list[str]:
    """What the source says about how it read this run's posts (an optional `coverage_notes()` method)."""
    notes = getattr(source, "coverage_notes", None)
    return list(notes()) if callable(notes) else []


def refresh(session: Session, watch: Watch, notes: Sequence[str] = ()) -> WatchCoverage:
    """Count the watch's media that were not (or not wholly) analysed and store that with `notes` on the watch."""
    hidden = col(MediaItem.not_fetched).is_not(None)
    rows = session.exec(
        select(MediaItem.status, MediaItem.poster_only, hidden, sa.func.count())
        .join(Post, col(Post.id) == MediaItem.post_id)
        .where(Post.watch_id == watch.id)
        .group_by(col(MediaItem.status), col(MediaItem.poster_only), hidden)
    ).all()
    counts: dict[str, int] = {}
    for status, poster_only, not_fetched, count in rows:
        bucket = _bucket(status, poster_only, not_fetched)
        counts[bucket] = counts.get(bucket, 0) + count
    coverage = WatchCoverage(
        poster_only=counts.get("poster_only", 0),
        not_fetched=counts.get("not_fetched", 0),
        awaiting_file=counts.get("awaiting_file", 0),
        notes=list(dict.fromkeys(notes)),
    )
    watch.coverage = coverage.model_dump()
    session.add(watch)
    return coverage


def _bucket(status: str, poster_only: bool, not_fetched: bool) -> str:
    if status == MediaStatus.AWAITING_FILE:
        return "awaiting_file"
    if poster_only and status == MediaStatus.DONE:
        return "poster_only"
    if not_fetched and status == MediaStatus.SKIPPED:
        return "not_fetched"
    return "other"
