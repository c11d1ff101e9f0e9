"""The re-scan table: one row per re-scan, its progress written with each content's transaction, so any process
(and the API after a restart) reads how far it came."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db import UtcDateTime, optional_timestamp_field, timestamp_field
from core.ids import new_id


class RescanState:
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    """Read, never stored: a running re-scan whose process stopped (no progress for `IMPWATCH_RESCAN_STALE_SECONDS`)."""


class Rescan(SQLModel, table=True):
    __tablename__ = "rescan"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    person_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    since: datetime | None = Field(default=None, sa_type=UtcDateTime, nullable=True)
    state: str = Field(default=RescanState.RUNNING, max_length=20)
    total: int = 0
    done: int = 0
    not_kept: int = 0
    refused: int = 0
    detections_added: int = 0
    alerts_touched: int = 0
    error: str | None = Field(default=None, max_length=2000)
    started_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
    """The last progress: a running re-scan moves it with every content."""
    finished_at: datetime | None = optional_timestamp_field()
