"""Re-scan: kept media (`IMPWATCH_KEEP_MEDIA`) analysed again against the current watchlist and thresholds, so a
person enrolled today is found in last week's posts. Only detections of people not yet detected in a content are
added (a content's earlier detections and alerts stay as they were), each raises or extends its alert on every post
that carried the content, and no face is counted again into the calibration (it was counted when first analysed).
So a re-scan run twice, or again after it was interrupted, adds nothing twice.

No commits here; the re-scan itself (`app.rescan.jobs.Rescanner`) is background work that owns its transactions,
one per content, each also moving the re-scan's progress (`app.rescan.models.Rescan`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.rescan.models import Rescan, RescanState
from core.errors import NotFound
from watchers.models import MediaItem, MediaStatus, Post


@dataclass
class ContentOutcome:
    """What re-scanning one content did, added to its re-scan's progress."""

    not_kept: int = 0
    refused: int = 0
    detections_added: int = 0
    alerts_touched: int = 0


def start_rescan(session: Session, person_id: uuid.UUID | None, since: datetime | None) -> Rescan:
    rescan = Rescan(person_id=person_id, since=since)
    session.add(rescan)
    session.flush()
    return rescan


def get_rescan(session: Session, rescan_id: uuid.UUID) -> Rescan:
    rescan = session.get(Rescan, rescan_id)
    if rescan is None:
        raise NotFound(f"re-scan {rescan_id} not found")
    return rescan


def latest_rescan(session: Session, person_id: uuid.UUID) -> Rescan | None:
    return session.exec(
        select(Rescan).where(Rescan.person_id == person_id).order_by(col(Rescan.started_at).desc()).limit(1)
    ).first()


def state_of(rescan: Rescan, now: datetime, stale_after: timedelta) -> str:
    """`interrupted` for a running re-scan that has made no progress for `stale_after` (its process stopped);
    starting the same re-scan again goes on where it left off, as nothing is added twice."""
    if rescan.state == RescanState.RUNNING and rescan.updated_at < now - stale_after:
        return RescanState.INTERRUPTED
    return rescan.state


def record_content(session: Session, rescan_id: uuid.UUID, outcome: ContentOutcome, now: datetime) -> Rescan | None:
    """One more content done; None when the re-scan is gone (its person was erased meanwhile)."""
    rescan = session.get(Rescan, rescan_id)
    if rescan is None:
        return None
    rescan.done += 1
    rescan.not_kept += outcome.not_kept
    rescan.refused += outcome.refused
    rescan.detections_added += outcome.detections_added
    rescan.alerts_touched += outcome.alerts_touched
    rescan.updated_at = now
    session.add(rescan)
    return rescan


def contents_to_rescan(session: Session, since: datetime | None) -> list[str]:
    """The contents of analysed media items, of posts from `since` on, oldest post first, each once."""
    statement = (
        select(MediaItem.sha256, Post.posted_at)
        .join(Post, col(Post.id) == MediaItem.post_id)
        .where(MediaItem.status == MediaStatus.DONE, col(MediaItem.sha256).is_not(None))
        .order_by(col(Post.posted_at), col(MediaItem.id))
    )
    if since is not None:
        statement = statement.where(Post.posted_at >= since)
    seen: dict[str, None] = {}
    for sha256, _ in session.exec(statement):
        if sha256 is not None:
            seen.setdefault(sha256, None)
    return list(seen)
