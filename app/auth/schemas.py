"""API shapes of organisations, keys, invitations and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.schemas import Refusal, RequestBody, UtcInstant
from watchlist.schemas import PersonRead, ReferenceFaceRead

Role = Literal["operator", "org_admin", "org_member", "subject"]


class OrganizationCreate(RequestBody):
    name: str = Field(min_length=1, max_length=200)


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    created_at: datetime


class KeyCreate(RequestBody):
    role: Literal["operator", "org_admin", "org_member"]
    organization_id: uuid.UUID | None = Field(
        default=None, description="Required from an operator for organisation keys; an org_admin's own by default"
    )
    name: str = Field(default="", max_length=200)
    expires_at: UtcInstant | None = None


class KeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    prefix: str = Field(description="The visible part of the key, to tell keys apart")
    name: str
    role: Role
    organization_id: uuid.UUID | None
    person_id: uuid.UUID | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class KeyIssued(KeyRead):
    key: str = Field(description="The key itself: shown once, never again")


class InvitationCreate(RequestBody):
    valid_hours: float = Field(default=72, gt=0, le=24 * 30)
    note: str = Field(default="", max_length=500)


class InvitationIssued(BaseModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    expires_at: datetime
    token: str = Field(description="Give it to the journalist; single use, shown once")


class SelfEnrolment(BaseModel):
    person: PersonRead
    reference_faces: list[ReferenceFaceRead]
    refused_photos: list[Refusal]
    key: KeyIssued


class AuditEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    at: datetime
    action: str
    organization_id: uuid.UUID | None
    actor_key_id: uuid.UUID | None
    actor_role: str
    object_type: str
    object_id: str
    details: dict


class ErasureRead(BaseModel):
    person_id: uuid.UUID
    reference_faces: int
    detections: int
    alerts: int
    occurrences: int
    api_keys: int
    media_files: int
    webhook_events: int = Field(description="Webhook events about the person, delivered or still owed")
    negative_faces: int = Field(default=0, description="Faces triaged as false matches of the person")
