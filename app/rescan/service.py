"""Re-scan: kept media (`IMPWATCH_KEEP_MEDIA`) analysed again against the current watchlist and thresholds, so a
person enrolled today is found in last week's posts. Only detections of people not yet detected in a content are
added (a content's earlier detections and alerts stay as they were), each raises or extends its alert on every post
that carried the content, and no face is counted again into the calibration (it was counted when first analysed).

No commits here; the re-scan itself (`app.rescan.jobs.Rescanner`) is background work that owns its transactions,
one per content.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from core.clock import utcnow
from watchers.models import MediaItem, MediaStatus, Post


@dataclass
class RescanProgress:
    """How far a re-scan has come; read while it runs."""

    id: uuid.UUID = field(default_factory=uuid.uuid4)
    person_id: uuid.UUID | None = None
    since: datetime | None = None
    total: int = 0
    done: int = 0
    not_kept: int = 0
    refused: int = 0
    detections_added: int = 0
    alerts_touched: int = 0
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    error: str | None = None

    @property
    def state(self) -> str:
        if self.error is not None:
            return "failed"
        return "finished" if self.finished_at is not None else "running"


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
