"""API shapes of alerts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from core.schemas import RequestBody, UtcInstant
from watchlist.schemas import FaceBox

AlertStatus = Literal["new", "confirmed_impersonation", "authentic", "false_match", "dismissed"]


class AlertFilter(BaseModel):
    person_id: uuid.UUID | None = None
    status: list[AlertStatus] | None = None
    watch_id: uuid.UUID | None = None
    since: UtcInstant | None = None
    until: UtcInstant | None = None


class AlertUpdate(RequestBody):
    status: AlertStatus | None = None
    note: str | None = Field(default=None, max_length=4000)


class AlertSummary(BaseModel):
    id: uuid.UUID
    kind: str
    person_id: uuid.UUID
    person_name: str
    status: AlertStatus
    note: str | None
    media_kind: str
    sha256: str
    best_distance: float
    official_only: bool = Field(description="Every occurrence so far is on one of the person's own channels")
    occurrences_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    created_at: datetime
    updated_at: datetime


class AlertPageRead(BaseModel):
    items: list[AlertSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class OccurrenceRead(BaseModel):
    channel: str
    permalink: str
    posted_at: datetime
    official: bool
    watch_id: uuid.UUID
    post_text: str
    forwarded_from: str | None


class EvidenceRead(BaseModel):
    reference_face_id: uuid.UUID | None
    box: FaceBox | None
    best_timestamp: float | None
    timestamps: list[float]
    frames_matched: int
    crop_url: str | None


class AlertDetail(AlertSummary):
    occurrences: list[OccurrenceRead]
    evidence: EvidenceRead
