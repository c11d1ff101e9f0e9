"""Who is watched: people and their reference faces."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db import timestamp_field
from core.ids import new_id

NAME_MENTION_MODES = ("possible", "match", "off")
"""What a mention of a person's name raises: an alert kept for review (`possible`, not pushed), a `match`, or none."""


class Person(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    organization_id: uuid.UUID | None = Field(
        default=None, index=True, description="The organisation that enrolled the person; None: the installation's"
    )
    display_name: str = Field(max_length=200, index=True)
    aliases: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    role_title: str | None = Field(default=None, max_length=300)
    tolerance: float | None = Field(default=None, description="Overrides the installation's default tolerance.")
    official_channels: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    phone_numbers: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False, description="E.164")
    websites: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False, description="The person's own sites, as host names"
    )
    distinctive_aliases: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False, description="Names that identify the person alone"
    )
    name_mentions: str = Field(default="possible", max_length=20, description="possible, match or off")
    phone_alerts: bool = True
    website_alerts: bool = True
    active: bool = True
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class ReferenceFace(SQLModel, table=True):
    __tablename__ = "reference_face"
    __table_args__ = (sa.UniqueConstraint("person_id", "image_sha256", "face_index", name="uq_reference_photo"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    person_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    encoding: bytes = Field(sa_type=sa.LargeBinary, description="128 little-endian float32 values.")
    model_name: str = Field(max_length=100)
    model_version: str = Field(max_length=100)
    face_index: int = 0
    box_top: int
    box_right: int
    box_bottom: int
    box_left: int
    face_width: int
    face_height: int
    sharpness: float
    image_width: int
    image_height: int
    image_sha256: str = Field(max_length=64, index=True)
    crop_jpeg: bytes = Field(sa_type=sa.LargeBinary)
    active: bool = True
    created_at: datetime = timestamp_field()


class FaceCalibration(SQLModel, table=True):
    """A person's counts of background distances and the thresholds they give. Counts only: no encoding, no link
    to the media the faces were seen in (see `watchlist.calibration`)."""

    __tablename__ = "face_calibration"

    person_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    )
    counts: list[int] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    faces: int = 0
    match_threshold: float
    possible_threshold: float
    calibrated: bool = False
    counts_updated_at: datetime = timestamp_field()
    thresholds_changed_at: datetime = timestamp_field()


class NegativeFace(SQLModel, table=True):
    """A face triaged as a false match of the person: a later face nearer to it than to the person's references is
    at most `possible`. Biometric data: erased with the person, expired after the retention setting."""

    __tablename__ = "negative_face"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    person_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    encoding: bytes = Field(sa_type=sa.LargeBinary, description="128 little-endian float32 values.")
    alert_id: uuid.UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid, nullable=True, index=True))
    distance: float = Field(description="Its distance to the person's nearest reference when it was matched")
    created_at: datetime = timestamp_field()
