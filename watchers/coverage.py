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
    counts = dict(
        session.exec(
            select(_bucket(), sa.func.count())
            .select_from(MediaItem)
            .join(Post, col(Post.id) == MediaItem.post_id)
            .where(Post.watch_id == watch.id)
            .group_by(_bucket())
        ).all()
    )
    coverage = WatchCoverage(
        poster_only=counts.get("poster_only", 0),
        not_fetched=counts.get("not_fetched", 0),
        awaiting_file=counts.get("awaiting_file", 0),
        notes=list(dict.fromkeys(notes)),
    )
    watch.coverage = coverage.model_dump()
    session.add(watch)
    return coverage


def _bucket() -> sa.ColumnElement[str]:
    return sa.case(
        (col(MediaItem.status) == MediaStatus.AWAITING_FILE, "awaiting_file"),
        (sa.and_(col(MediaItem.poster_only).is_(True), col(MediaItem.status) == MediaStatus.DONE), "poster_only"),
        (
            sa.and_(col(MediaItem.not_fetched).is_not(None), col(MediaItem.status) == MediaStatus.SKIPPED),
            "not_fetched",
        ),
        else_="other",
    )
