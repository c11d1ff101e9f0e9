"""Alert tables: one alert per person, kind and subject (for a face: the media content), and where it was seen."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.db import UtcDateTime, timestamp_field
from core.ids import new_id

ALERT_STATUSES = ("new", "confirmed_impersonation", "authentic", "false_match", "dismissed")
ALERT_KINDS = ("face_match", "phone_number", "name_mention", "lookalike_domain")
ALERT_TIERS = ("match", "possible")
ALERT_PRIORITIES = ("urgent", "high", "normal", "low")


class Alert(SQLModel, table=True):
    """One person, one kind, one subject: a repost of the same media (or the same number posted again) adds an
    occurrence, never a second alert. `evidence` is the kind's record (`app.alerts.schemas.Evidence`), as JSON."""

    __table_args__ = (sa.UniqueConstraint("person_id", "kind", "subject_key", name="uq_alert_subject"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    person_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    subject_key: str = Field(max_length=200, index=True, description="What makes the alert unique for its kind")
    evidence: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    detection_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("detection.id", ondelete="SET NULL"), nullable=True),
        description="A face alert's detection, which holds the face crop",
    )
    tier: str = Field(default="match", max_length=20)
    tier_reason: str | None = Field(default=None, max_length=300, description="Why the tier was raised, if it was")
    corroborated_by: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False, description="Other kinds seen with it in one post"
    )
    campaign_terms: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False, description="Campaign terms of its posts"
    )
    priority: str = Field(default="normal", max_length=20)
    status: str = Field(default="new", max_length=40, index=True)
    note: str | None = Field(default=None, max_length=4000)
    official_only: bool = Field(default=False, description="Every occurrence so far is on the person's own channel")
    occurrences_count: int = 0
    first_seen_at: datetime = timestamp_field()
    last_seen_at: datetime = timestamp_field()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    updated_at: datetime = timestamp_field()


class AlertOccurrence(SQLModel, table=True):
    """One post the alert's subject was seen in; for media, which media item of the post."""

    __tablename__ = "alert_occurrence"
    __table_args__ = (
        sa.UniqueConstraint("alert_id", "media_item_id", name="uq_occurrence_media"),
        sa.Index(
            "uq_occurrence_post_text",
            "alert_id",
            "post_id",
            unique=True,
            sqlite_where=sa.text("media_item_id IS NULL"),
            postgresql_where=sa.text("media_item_id IS NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    alert_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("alert.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    post_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    media_item_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("media_item.id", ondelete="CASCADE"), nullable=True),
    )
    watch_id: uuid.UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False, index=True))
    channel: str = Field(max_length=500)
    permalink: str = Field(max_length=1000)
    posted_at: datetime = Field(sa_type=UtcDateTime)
    official: bool = False
    created_at: datetime = timestamp_field()
