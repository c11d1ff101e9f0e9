"""Notification tables: channels (a Telegram chat or an email address, with their filters), the outbox (one alert
owed to one channel) and every attempt. Webhook endpoints keep their own tables (`app.webhooks.models`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.outbox.models import OutboxRow
from core.db import optional_timestamp_field, timestamp_field
from core.ids import new_id

CHANNEL_KINDS = ("telegram", "email")
LANGUAGES = ("ru", "kk", "en")
TEST_EVENT = "notification.test"
DIGEST_EVENT = "digest.daily"


class NotificationChannel(SQLModel, table=True):
    """Where an organisation's alerts are told: `config` is the kind's (telegram: `bot_token`, `chat_id`; email:
    `address`). Empty filters let everything through."""

    __tablename__ = "notification_channel"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    kind: str = Field(max_length=20)
    description: str = Field(default="", max_length=500)
    language: str = Field(default="ru", max_length=5)
    config: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    person_ids: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    kinds: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    tiers: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    digest_hour: int | None = Field(default=None, description="UTC hour of a daily digest; None: no digest")
    digest_sent_until: datetime | None = optional_timestamp_field()
    """The end of the last digest's day: the next digest starts there."""
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class NotificationDelivery(OutboxRow, table=True):
    """The outbox row: one alert owed to one channel, written in the transaction that raised the alert. The message
    is rendered when it is sent, from the alert as it is then (an erased alert takes its deliveries with it)."""

    __tablename__ = "notification_delivery"
    __table_args__ = (sa.Index("ix_notification_delivery_due", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    channel_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("notification_channel.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    alert_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("alert.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    event: str = Field(max_length=40, description="alert.created, alert.updated, digest.daily, notification.test")
    changed: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    window_start: datetime | None = optional_timestamp_field()
    window_end: datetime | None = optional_timestamp_field()
    """A digest's day: the alerts raised from `window_start` until before `window_end`."""
    external_id: str | None = Field(default=None, max_length=200, description="The Telegram message or email id")


class NotificationAttempt(SQLModel, table=True):
    """One send of a delivery; `outcome` is empty while it is in flight (or was cut short by a stop)."""

    __tablename__ = "notification_attempt"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("notification_delivery.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    attempted_at: datetime = timestamp_field()
    outcome: str | None = Field(default=None, max_length=20, description="delivered, retry, dead or gone")
    error: str | None = Field(default=None, max_length=2000)
    duration_ms: float | None = None
