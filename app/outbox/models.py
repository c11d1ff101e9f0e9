"""What every outbox row has, whichever channel it goes out on (webhooks, notifications): its state, its schedule,
and the columns the dispatcher's claim and the retry schedule use (`app.outbox.service`)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.db import UtcDateTime, optional_timestamp_field, timestamp_field


class DeliveryStatus:
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class OutboxRow(SQLModel):
    """The columns of a delivery, shared by the outbox tables (a base, not a table)."""

    status: str = Field(default=DeliveryStatus.PENDING, max_length=20)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=True)
    one_more_attempt: bool = Field(
        default=False, description="A retry asked by hand for a dead or delivered row: one attempt, no schedule"
    )
    last_error: str | None = Field(default=None, max_length=2000)
    delivered_at: datetime | None = optional_timestamp_field()
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()
