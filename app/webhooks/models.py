"""Webhook tables: endpoints, the outbox (one event, one delivery per subscribed endpoint) and every attempt."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.outbox.models import OutboxRow
from core.db import optional_timestamp_field, timestamp_field
from core.ids import new_id

EVENT_TYPES = ("alert.created", "alert.updated", "watch.failed")
TEST_EVENT_TYPE = "webhook.test"
ALL_EVENTS = "*"


def _reference(table: str) -> Any:
    return Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False, index=True)
    )


class WebhookEndpoint(SQLModel, table=True):
    """A receiver. The secret is kept (it must sign) but is shown only when created or rotated.

    During a rotation `previous_secret` signs too, until `previous_secret_expires_at`.
    """

    __tablename__ = "webhook_endpoint"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID | None = Field(default=None, index=True, description="The owner; alerts of its people")
    url: str = Field(max_length=2000)
    description: str = Field(default="", max_length=500)
    events: list[str] = Field(default_factory=lambda: [ALL_EVENTS], sa_type=sa.JSON, nullable=False)
    person_ids: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False, description="Alert events only for these; empty: all"
    )
    include_possible: bool = Field(default=False, description="Also alerts of the `possible` tier")
    enabled: bool = True
    disabled_reason: str | None = Field(default=None, max_length=500)
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = optional_timestamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class WebhookEvent(SQLModel, table=True):
    """One event, its JSON body frozen when it happened: every attempt to every endpoint sends the same bytes."""

    __tablename__ = "webhook_event"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    type: str = Field(max_length=40, index=True)
    payload: str = Field(sa_type=sa.Text)
    created_at: datetime = timestamp_field()

    @property
    def message_id(self) -> str:
        """The `webhook-id` header: the same on every attempt, so a receiver can de-duplicate."""
        return f"msg_{self.id.hex}"


class WebhookDelivery(OutboxRow, table=True):
    """The outbox row: one event owed to one endpoint, written in the transaction that caused the event."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    event_id: uuid.UUID = _reference("webhook_event")
    endpoint_id: uuid.UUID = _reference("webhook_endpoint")
    last_status_code: int | None = None


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request of a delivery and what came of it. Recorded when it starts: one whose `duration_ms` is
    still empty is in flight, or was cut short when the sending process stopped."""

    __tablename__ = "webhook_attempt"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    delivery_id: uuid.UUID = _reference("webhook_delivery")
    attempted_at: datetime = timestamp_field()
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=2000)
    duration_ms: float | None = None
    response_excerpt: str | None = Field(default=None, max_length=1000)
