"""Candidate channels and what points to them."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db import UtcDateTime, optional_timestamp_field, timestamp_field
from core.ids import new_id


class CandidateChannel(SQLModel, table=True):
    """A channel that watched posts point to. `key` is the lower-cased username, or `name:<name>` for a forward
    whose origin Telegram names without a username (which cannot be watched by name)."""

    __tablename__ = "candidate_channel"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    key: str = Field(max_length=300, unique=True)
    username: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=300)
    posts_count: int = 0
    forwards_count: int = 0
    links_count: int = 0
    mentions_count: int = 0
    alerts_count: int = 0
    first_seen_at: datetime = Field(sa_type=UtcDateTime)
    last_seen_at: datetime = Field(sa_type=UtcDateTime, index=True)
    watched_at: datetime | None = optional_timestamp_field()
    created_at: datetime = timestamp_field()


class CandidatePointer(SQLModel, table=True):
    """One post pointing to a candidate, by forward, link or mention (each post counted once per candidate)."""

    __tablename__ = "candidate_pointer"
    __table_args__ = (sa.UniqueConstraint("candidate_id", "post_id", name="uq_candidate_pointer"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    candidate_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("candidate_channel.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    post_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    via: str = Field(max_length=20)
    """How the post points to it: `forward`, `link` or `mention` (the first found, in that order)."""


class CandidateAlert(SQLModel, table=True):
    """An alert raised on a post that points to the candidate: counted once per alert. `alert_id` is not a foreign
    key: alerts belong to the app, which the watchers never import."""

    __tablename__ = "candidate_alert"
    __table_args__ = (sa.UniqueConstraint("candidate_id", "alert_id", name="uq_candidate_alert"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    candidate_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("candidate_channel.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    alert_id: uuid.UUID = Field(sa_type=sa.Uuid, index=True)
