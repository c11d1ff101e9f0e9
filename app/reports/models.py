"""Reports from the public: one row per photo, video or link a reader sent to the reporting bot. The reader is
kept only as a keyed hash of their Telegram id (`app.reports.service.reporter_hash`), enough to limit their rate
and to tell one reader's reports together, never to find them."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db import timestamp_field
from core.ids import new_id

REPORT_CHANNEL = "reporting bot"
"""The channel of a report's post and occurrence, as a press office sees it beside the watched channels."""
REPORT_WATCH_KIND = "reporting_bot"
"""The kind of the one watch that owns reports' posts: disabled, never scheduled (posts need a watch)."""


class PublicReport(SQLModel, table=True):
    __tablename__ = "public_report"
    __table_args__ = (sa.Index("ix_public_report_reporter_time", "reporter_hash", "received_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    reporter_hash: str = Field(max_length=64, description="HMAC-SHA256 of the reader's Telegram id, hex")
    received_at: datetime = timestamp_field()
    kind: str = Field(max_length=20, description="photo, video, link")
    outcome: str = Field(max_length=30, description="matched, no_match, too_large, unreadable, private_link, ...")
    matched: int = Field(default=0, description="How many people who accept public reports appear in it")
    post_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("post.id", ondelete="SET NULL"), nullable=True),
    )
