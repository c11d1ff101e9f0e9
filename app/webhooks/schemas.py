"""API shapes of webhook endpoints and deliveries. The secret appears only in `EndpointCreated` and `RotatedSecret`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, Field, UrlConstraints

from core.schemas import RequestBody

EventName = Literal["alert.created", "alert.updated", "watch.failed", "*"]
DeliveryState = Literal["pending", "delivered", "dead"]
EndpointUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]


class EndpointCreate(RequestBody):
    url: EndpointUrl
    description: str = Field(default="", max_length=500)
    events: list[EventName] = Field(default=["*"], min_length=1, description="Event types sent; `*` for all")
    person_ids: list[uuid.UUID] = Field(
        default=[], max_length=1000, description="Alert events only for these people; empty for everyone"
    )
    include_possible: bool = Field(default=False, description="Also alerts of the `possible` tier (for review)")
    enabled: bool = True


class EndpointUpdate(RequestBody):
    url: EndpointUrl | None = None
    description: str | None = Field(default=None, max_length=500)
    events: list[EventName] | None = Field(default=None, min_length=1)
    person_ids: list[uuid.UUID] | None = Field(default=None, max_length=1000)
    include_possible: bool | None = None
    enabled: bool | None = Field(default=None, description="Enabling clears `disabled_reason`")


class EndpointRead(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    events: list[str]
    person_ids: list[uuid.UUID]
    include_possible: bool
    enabled: bool
    disabled_reason: str | None = Field(description="Why the service disabled it, e.g. the receiver answered 410")
    previous_secret_expires_at: datetime | None = Field(description="While rotating: until when the old one signs")
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointRead):
    secret: str = Field(description="The `whsec_` signing secret. Shown this once: store it now")


class SecretRotation(RequestBody):
    keep_previous_seconds: int = Field(
        default=86_400, ge=0, le=7 * 86_400, description="How long the old secret keeps signing beside the new one"
    )


class RotatedSecret(BaseModel):
    secret: str = Field(description="The new `whsec_` secret. Shown this once: store it now")
    previous_secret_expires_at: datetime | None


class AttemptRead(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float | None = Field(description="Null: in flight, or cut short when the sending process stopped")
    response_excerpt: str | None


class DeliveryRead(BaseModel):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    webhook_id: str = Field(description="The `webhook-id` header: the same on every attempt")
    event_type: str
    status: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    payload: dict = Field(description="The JSON body sent")
    attempt_log: list[AttemptRead]
