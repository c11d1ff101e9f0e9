"""The service's own tables: alerts and where each alerted media was seen."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.db import UtcDateTime

ALERT_STATUSES = ("new", "confirmed_impersonation", "authentic", "false_match", "dismissed")


def _timestamp() -> object:
    return Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)


class Alert(SQLModel, table=True):
    """One person in one media file (by content). A repost adds an occurrence, never a second alert."""

    __table_args__ = (sa.UniqueConstraint("person_id", "sha256", "kind", name="uq_alert_person_media"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(default="face_match", max_length=40)
    person_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    sha256: str = Field(max_length=64, index=True)
    detection_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("detection.id", ondelete="SET NULL"), nullable=True),
    )
    media_kind: str = Field(max_length=20)
    best_distance: float
    status: str = Field(default="new", max_length=40, index=True)
    note: str | None = Field(default=None, max_length=4000)
    official_only: bool = Field(default=False, description="Every occurrence so far is on the person's own channel")
    occurrences_count: int = 0
    first_seen_at: datetime = _timestamp()
    last_seen_at: datetime = _timestamp()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = _timestamp()


class AlertOccurrence(SQLModel, table=True):
    __tablename__ = "alert_occurrence"
    __table_args__ = (sa.UniqueConstraint("alert_id", "media_item_id", name="uq_occurrence_media"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    alert_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("alert.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    media_item_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("media_item.id", ondelete="CASCADE"), nullable=False)
    )
    watch_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    channel: str = Field(max_length=500)
    permalink: str = Field(max_length=1000)
    posted_at: datetime = Field(sa_type=UtcDateTime)
    official: bool = False
    created_at: datetime = _timestamp()
