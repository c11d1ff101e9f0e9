"""Organisations, API keys (stored only as a hash), invitations and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.db import UtcDateTime, optional_timestamp_field, timestamp_field
from core.ids import new_id

ROLES = ("operator", "org_admin", "org_member", "subject")


class Organization(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    created_at: datetime = timestamp_field()


class ApiKey(SQLModel, table=True):
    """A key is `iw_<prefix>_<secret>`; only its SHA-256 is stored. The prefix is shown in lists to tell keys apart."""

    __tablename__ = "api_key"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    prefix: str = Field(max_length=16, sa_column_kwargs={"unique": True})
    key_hash: str = Field(max_length=64)
    name: str = Field(default="", max_length=200)
    role: str = Field(max_length=20)
    organization_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    person_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    created_at: datetime = timestamp_field()
    expires_at: datetime | None = optional_timestamp_field()
    revoked_at: datetime | None = optional_timestamp_field()
    last_used_at: datetime | None = optional_timestamp_field()


class Invitation(SQLModel, table=True):
    """A single-use, expiring invitation for a journalist to enrol themself; only the token's hash is stored."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    note: str = Field(default="", max_length=500)
    created_by_key_id: uuid.UUID | None = None
    created_at: datetime = timestamp_field()
    expires_at: datetime = Field(sa_type=UtcDateTime)
    redeemed_at: datetime | None = optional_timestamp_field()
    person_id: uuid.UUID | None = None
    consent_text: str | None = Field(default=None, sa_type=sa.Text)
    consent_version: str | None = Field(default=None, max_length=50)
    consent_client_address: str | None = Field(default=None, max_length=100)


class AuditEvent(SQLModel, table=True):
    """What happened to whom, by which key. Minimal on purpose: no biometric data, only ids and counts."""

    __tablename__ = "audit_event"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    action: str = Field(max_length=60, index=True)
    organization_id: uuid.UUID | None = Field(default=None, index=True)
    actor_key_id: uuid.UUID | None = None
    actor_user_id: uuid.UUID | None = None
    actor_role: str = Field(default="system", max_length=20)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=100)
    details: dict = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)


class User(SQLModel, table=True):
    """A person who signs in to the console: an email and an argon2 password hash, with the same roles as keys. A
    user invited by a colleague has no password until they open the one-time link (`password_token_hash`)."""

    __tablename__ = "console_user"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True})
    password_hash: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=20)
    organization_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("organization.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    person_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    password_token_hash: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    password_token_expires_at: datetime | None = optional_timestamp_field()
    created_at: datetime = timestamp_field()
    disabled_at: datetime | None = optional_timestamp_field()


class UserSession(SQLModel, table=True):
    """A signed-in browser: only the cookie token's SHA-256 is stored, with the session's CSRF token."""

    __tablename__ = "console_session"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    csrf_token: str = Field(max_length=64)
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("console_user.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_at: datetime = timestamp_field()
    expires_at: datetime = Field(sa_type=UtcDateTime)
