"""API shapes of re-scans."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.rescan.models import Rescan
from core.schemas import RequestBody, UtcInstant


class RescanCreate(RequestBody):
    person_id: uuid.UUID | None = Field(
        default=None, description="Only this person's new detections; an organisation's administrator must name one"
    )
    since: UtcInstant | None = Field(default=None, description="Only media of posts from this time on")


class RescanRead(BaseModel):
    id: uuid.UUID
    state: str = Field(description="running, finished, failed, or interrupted (its process stopped; start it again)")
    person_id: uuid.UUID | None
    since: datetime | None
    total: int = Field(description="Contents (distinct media files) to re-scan")
    done: int
    not_kept: int = Field(description="Contents whose file is not kept (IMPWATCH_KEEP_MEDIA was off)")
    refused: int
    detections_added: int
    alerts_touched: int
    started_at: datetime
    updated_at: datetime = Field(description="The last progress")
    finished_at: datetime | None
    error: str | None

    @classmethod
    def of(cls, rescan: Rescan, state: str) -> RescanRead:
        return cls.model_validate({**rescan.model_dump(), "state": state})
