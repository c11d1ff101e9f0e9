"""API shapes of re-scans."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.rescan.service import RescanProgress
from core.schemas import RequestBody, UtcInstant


class RescanCreate(RequestBody):
    person_id: uuid.UUID | None = Field(
        default=None, description="Only this person's new detections; an organisation's administrator must name one"
    )
    since: UtcInstant | None = Field(default=None, description="Only media of posts from this time on")


class RescanRead(BaseModel):
    id: uuid.UUID
    state: str = Field(description="running, finished or failed")
    person_id: uuid.UUID | None
    since: datetime | None
    total: int = Field(description="Contents (distinct media files) to re-scan")
    done: int
    not_kept: int = Field(description="Contents whose file is not kept (IMPWATCH_KEEP_MEDIA was off)")
    refused: int
    detections_added: int
    alerts_touched: int
    started_at: datetime
    finished_at: datetime | None
    error: str | None

    @classmethod
    def of(cls, progress: RescanProgress) -> RescanRead:
        return cls(
            id=progress.id,
            state=progress.state,
            person_id=progress.person_id,
            since=progress.since,
            total=progress.total,
            done=progress.done,
            not_kept=progress.not_kept,
            refused=progress.refused,
            detections_added=progress.detections_added,
            alerts_touched=progress.alerts_touched,
            started_at=progress.started_at,
            finished_at=progress.finished_at,
            error=progress.error,
        )
