"""API shapes of notification channels and their deliveries. A bot token is write-only: answers show its bot id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.alerts.schemas import AlertKind, AlertTier
from core.schemas import RequestBody

Language = Literal["ru", "kk", "en"]
ChannelKind = Literal["telegram", "email"]
DeliveryState = Literal["pending", "delivered", "dead"]
BotToken = Annotated[str, Field(pattern=r"^\d{1,20}:[A-Za-z0-9_-]{20,100}$", description="From @BotFather")]


class ChannelFilters(RequestBody):
    language: Language = "ru"
    description: str = Field(default="", max_length=500)
    person_ids: list[uuid.UUID] = Field(default=[], max_length=1000, description="Only these people; empty: all")
    kinds: list[AlertKind] = Field(default=[], description="Only these alert kinds; empty: all")
    tiers: list[AlertTier] = Field(
        default=[], description="Only these tiers; empty: `match` only (`possible` alerts are for review unless asked)"
    )
    digest_hour: int | None = Field(
        default=None, ge=0, le=23, description="Also a daily digest at this hour (UTC) of the day's alerts; null: none"
    )
    enabled: bool = True


class TelegramChannelCreate(ChannelFilters):
    kind: Literal["telegram"]
    bot_token: BotToken
    chat_id: int = Field(description="The chat, group or channel the bot posts to (a negative id for groups)")


class EmailChannelCreate(ChannelFilters):
    kind: Literal["email"]
    address: str = Field(pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", max_length=320)


ChannelCreate = Annotated[TelegramChannelCreate | EmailChannelCreate, Field(discriminator="kind")]


class ChannelUpdate(RequestBody):
    language: Language | None = None
    description: str | None = Field(default=None, max_length=500)
    person_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    kinds: list[AlertKind] | None = None
    tiers: list[AlertTier] | None = None
    digest_hour: int | None = Field(default=None, ge=-1, le=23, description="The digest's UTC hour; -1 turns it off")
    enabled: bool | None = Field(default=None, description="Enabling clears `disabled_reason`")


class ChannelRead(BaseModel):
    id: uuid.UUID
    kind: ChannelKind
    description: str
    language: Language
    target: str = Field(description="The chat id (telegram) or the address (email)")
    bot_id: str | None = Field(description="The bot's numeric id (telegram); the token itself is never shown")
    person_ids: list[uuid.UUID]
    kinds: list[str]
    tiers: list[str]
    digest_hour: int | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why the service disabled it, e.g. the bot was blocked")
    created_at: datetime
    updated_at: datetime


class AttemptRead(BaseModel):
    attempted_at: datetime
    outcome: str | None = Field(description="delivered, retry, dead or gone; null: in flight or cut short")
    error: str | None
    duration_ms: float | None


class DeliveryRead(BaseModel):
    id: uuid.UUID
    channel_id: uuid.UUID
    alert_id: uuid.UUID | None
    event: str
    changed: list[str]
    window_start: datetime | None = Field(description="A digest's day: from")
    window_end: datetime | None = Field(description="A digest's day: until (excluded)")
    status: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    external_id: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: list[AttemptRead]
