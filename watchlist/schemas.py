"""API shapes of the watchlist: people and their reference faces."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.schemas import RequestBody
from core.telegram import channel_username

_NAME = Field(min_length=1, max_length=200)
NameMentions = Literal["possible", "match", "off"]
_PHONES = "Phone numbers, in any usual writing; stored in E.164 (a national number is read in IMPWATCH_PHONE_REGION)."
_WEBSITES = "The person's own sites (their outlet's, their blog): a host name or a link; stored as the host name."
_DISTINCTIVE = "Names or aliases that identify the person on their own (a rare surname, a pen name)."
_NAME_MENTIONS = (
    "What a mention of the person's full name (or a distinctive alias) raises: `possible` (kept for review, not "
    "pushed), `match`, or `off`."
)


def _clean_list(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in values:
        stripped = value.strip()
        if stripped:
            seen.setdefault(stripped, None)
    return list(seen)


class PersonBase(RequestBody):
    role_title: str | None = Field(default=None, max_length=300)
    tolerance: float | None = Field(
        default=None, gt=0.0, le=1.0, description="Match threshold for this person (default: the installation's)."
    )
    aliases: list[str] = Field(default_factory=list, description="Other spellings, in any script.")
    official_channels: list[str] = Field(default_factory=list, description="Telegram usernames or t.me links.")
    phone_numbers: list[str] = Field(default_factory=list, description=_PHONES)
    websites: list[str] = Field(default_factory=list, description=_WEBSITES)
    distinctive_aliases: list[str] = Field(default_factory=list, description=_DISTINCTIVE)
    name_mentions: NameMentions = Field(default="possible", description=_NAME_MENTIONS)
    phone_alerts: bool = Field(default=True, description="Whether the person's phone numbers in a post alert.")
    website_alerts: bool = Field(default=True, description="Whether links to lookalikes of their sites alert.")

    @field_validator("aliases", "phone_numbers", "websites", "distinctive_aliases")
    @classmethod
    def _dedupe(cls, values: list[str]) -> list[str]:
        return _clean_list(values)


class PersonCreate(PersonBase):
    """What a new person is given. Official channels are checked here, not in `PersonBase`, so that reading a
    person stored under an older, looser username rule never fails."""

    display_name: str = _NAME

    @field_validator("official_channels")
    @classmethod
    def _channels(cls, values: list[str]) -> list[str]:
        return _clean_list([channel_username(value) for value in values])

    @field_validator("display_name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("display_name must not be blank")
        return value.strip()


class PersonUpdate(RequestBody):
    """Fields left out are unchanged; `null` clears an optional field."""

    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    role_title: str | None = Field(default=None, max_length=300)
    tolerance: float | None = Field(default=None, gt=0.0, le=1.0)
    aliases: list[str] | None = None
    official_channels: list[str] | None = None
    phone_numbers: list[str] | None = Field(default=None, description=_PHONES)
    websites: list[str] | None = Field(default=None, description=_WEBSITES)
    distinctive_aliases: list[str] | None = Field(default=None, description=_DISTINCTIVE)
    name_mentions: NameMentions | None = Field(default=None, description=_NAME_MENTIONS)
    phone_alerts: bool | None = None
    website_alerts: bool | None = None
    active: bool | None = None

    @field_validator("aliases", "phone_numbers", "websites", "distinctive_aliases")
    @classmethod
    def _dedupe(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _clean_list(values)

    @field_validator("official_channels")
    @classmethod
    def _channels(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _clean_list([channel_username(value) for value in values])


class PersonRead(PersonBase):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    display_name: str
    active: bool
    reference_faces: int = 0
    created_at: datetime
    updated_at: datetime


class FaceBox(BaseModel):
    top: int
    right: int
    bottom: int
    left: int


class ReferenceFaceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    person_id: uuid.UUID
    model_name: str
    model_version: str
    face_index: int
    box: FaceBox
    face_width: int
    face_height: int
    sharpness: float
    image_width: int
    image_height: int
    image_sha256: str
    active: bool
    created_at: datetime


class ReferenceFaceEnrolled(ReferenceFaceRead):
    """A new reference face, with how it sits among the references: several photos count as more evidence."""

    distances_to_own_references: list[float] = Field(
        description="Its distance to each of the person's other reference faces"
    )
    nearest_other_person_distance: float | None = Field(
        description="Its distance to the nearest reference of any other enrolled person"
    )
    warning: str | None = Field(description="Set when the photo looks more like somebody else than like the person")


class CalibrationRead(BaseModel):
    """A person's current thresholds and what they rest on (counts of background distances, never encodings)."""

    person_id: uuid.UUID
    match_threshold: float
    possible_threshold: float
    faces: int = Field(description="How many background faces the thresholds rest on")
    calibrated: bool = Field(description="False while the conservative defaults apply (too few faces counted)")
    tolerance_override: float | None = Field(description="The person's own tolerance, which fixes `match`")
    thresholds_changed_at: datetime | None
    counts_updated_at: datetime | None


class NegativeFaceRead(BaseModel):
    """A face triaged as a false match of the person (no image is kept or shown)."""

    id: uuid.UUID
    alert_id: uuid.UUID | None
    distance: float
    created_at: datetime
    expires_at: datetime
