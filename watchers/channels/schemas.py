"""API shapes of candidate channels."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.schemas import RequestBody


class CandidateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str | None = Field(description="Its public username; null for a forward's origin known only by name")
    name: str | None = Field(description="The name a forward gave it, when one did")
    posts_count: int = Field(description="Watched posts that point to it (forward, t.me link or @mention)")
    forwards_count: int
    links_count: int
    mentions_count: int
    alerts_count: int = Field(description="Alerts raised on posts that point to it")
    first_seen_at: datetime
    last_seen_at: datetime
    watched_at: datetime | None = Field(description="When it was watched through this list")


class CandidateWatch(RequestBody):
    kind: Literal["tme_preview", "telegram"] = Field(
        default="tme_preview", description="Read it through its t.me preview or the installation's Telegram account"
    )
    interval_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)
    since: datetime | None = Field(default=None, description="Also read its history back to this time")
