"""API shapes of alerts: a kind-neutral summary with the kind's evidence as a discriminated union on `kind`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from app.alerts.models import Alert
from core.schemas import RequestBody, UtcInstant
from watchlist.schemas import FaceBox

AlertKind = Literal["face_match", "phone_number", "name_mention", "lookalike_domain"]
AlertStatus = Literal["new", "confirmed_impersonation", "authentic", "false_match", "dismissed"]
AlertTier = Literal["match", "possible"]
AlertPriority = Literal["high", "normal", "low"]


class TextSpan(BaseModel):
    """Where in a post's text the signal was found: the text as written and its character offsets."""

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class FaceMatchEvidence(BaseModel):
    """A face of the person in a photo or video: the content, the best match, and for a video every frame."""

    kind: Literal["face_match"] = "face_match"
    sha256: str = Field(description="The media content the face was found in; reposts share it")
    media_kind: str
    best_distance: float
    reference_face_id: uuid.UUID | None = None
    box: FaceBox | None = None
    best_timestamp: float | None = None
    timestamps: list[float] = Field(default_factory=list)
    frames_matched: int = 0
    track_timestamps: list[float] = Field(
        default_factory=list, description="A video's deciding track: the timestamps of its match frames"
    )
    crop_url: str | None = Field(default=None, description="The matched face, cropped; null once removed")

    def describe(self) -> str:
        return f"{self.media_kind}, distance {self.best_distance:.3f}"


class PhoneNumberEvidence(BaseModel):
    """One of the person's phone numbers in a post's text."""

    kind: Literal["phone_number"] = "phone_number"
    number: str = Field(description="E.164")
    span: TextSpan | None = None

    def describe(self) -> str:
        return self.number


class NameMentionEvidence(BaseModel):
    """The person's name, or one of its aliases, in a post's text."""

    kind: Literal["name_mention"] = "name_mention"
    name: str = Field(description="The enrolled name or alias that matched")
    span: TextSpan | None = None

    def describe(self) -> str:
        return f"named as {self.name}"


class LookalikeDomainEvidence(BaseModel):
    """A link to a site made to look like one of the person's own."""

    kind: Literal["lookalike_domain"] = "lookalike_domain"
    domain: str
    resembles: str = Field(description="The person's own domain it imitates")
    reason: str
    url: str | None = None

    def describe(self) -> str:
        return f"{self.domain} imitates {self.resembles}"


Evidence = Annotated[
    FaceMatchEvidence | PhoneNumberEvidence | NameMentionEvidence | LookalikeDomainEvidence,
    Field(discriminator="kind"),
]
EVIDENCE: TypeAdapter[Evidence] = TypeAdapter(Evidence)


def evidence_of(alert: Alert, crop_url: str | None = None) -> Evidence:
    """The alert's typed evidence; a face's `crop_url` is given by the caller, which knows the base URL and whether
    the crop is still kept."""
    evidence = EVIDENCE.validate_python(alert.evidence)
    if isinstance(evidence, FaceMatchEvidence):
        evidence = evidence.model_copy(update={"crop_url": crop_url})
    return evidence


class AlertFilter(BaseModel):
    person_id: uuid.UUID | None = None
    kind: list[AlertKind] | None = None
    status: list[AlertStatus] | None = None
    tier: list[AlertTier] | None = None
    watch_id: uuid.UUID | None = None
    since: UtcInstant | None = None
    until: UtcInstant | None = None


class AlertUpdate(RequestBody):
    status: AlertStatus | None = None
    note: str | None = Field(default=None, max_length=4000)


class AlertSummary(BaseModel):
    id: uuid.UUID
    kind: AlertKind
    person_id: uuid.UUID
    person_name: str
    subject_key: str = Field(description="What the alert is unique by for its kind: a face's media sha256, a number")
    tier: AlertTier
    priority: AlertPriority
    status: AlertStatus
    note: str | None
    official_only: bool = Field(description="Every occurrence so far is on one of the person's own channels")
    occurrences_count: int
    first_seen_at: datetime
    last_seen_at: datetime
    created_at: datetime
    updated_at: datetime
    evidence: Evidence

    @classmethod
    def of(cls, alert: Alert, person_name: str, crop_url: str | None = None) -> AlertSummary:
        return cls(
            **alert.model_dump(exclude={"evidence"}), person_name=person_name, evidence=evidence_of(alert, crop_url)
        )


class AlertPageRead(BaseModel):
    items: list[AlertSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class OccurrenceRead(BaseModel):
    channel: str
    permalink: str
    posted_at: datetime
    official: bool
    watch_id: uuid.UUID
    post_text: str
    forwarded_from: str | None


class AlertDetail(AlertSummary):
    occurrences: list[OccurrenceRead]
