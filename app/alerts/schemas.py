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
AlertPriority = Literal["urgent", "high", "normal", "low"]
TextPlace = Literal["text", "preview", "entity", "url"]
"""Where in a post a text signal was found: its text, its link preview, a Telegram entity, a link."""


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
    poster_only: bool = Field(
        default=False,
        description="The face is on the poster (a still) of a video that could not be fetched, not in the video: "
        "the video itself was not analysed",
    )

    def describe(self) -> str:
        poster = " (poster only: the video was not analysed)" if self.poster_only else ""
        return f"{self.media_kind}{poster}, distance {self.best_distance:.3f}"


class TextEvidence(BaseModel):
    """What every text signal's evidence holds beside its own fields: where it was found, the span as written
    (offsets into that place: the text, the preview, the entity or the link), and why it matched."""

    span: TextSpan | None = None
    where: TextPlace | None = None
    explanation: str | None = Field(default=None, description="Why it matched, for a person reviewing it")
    detail: dict[str, str | float] = Field(default_factory=dict, description="The matcher's own measures")


class PhoneNumberEvidence(TextEvidence):
    """One of the person's phone numbers in a post."""

    kind: Literal["phone_number"] = "phone_number"
    number: str = Field(description="E.164")

    def describe(self) -> str:
        return self.number


class NameMentionEvidence(TextEvidence):
    """The person's name, or one of its aliases, in a post."""

    kind: Literal["name_mention"] = "name_mention"
    name: str = Field(description="The enrolled name or alias that matched")

    def describe(self) -> str:
        return f"named as {self.name}"


class LinkedPage(BaseModel):
    """The page a lookalike link pointed at, read once when the alert was raised (IMPWATCH_FETCH_LINKED_PAGES)."""

    url: str
    title: str | None = None
    names_person: bool = Field(default=False, description="Whether its title or text names the person")
    error: str | None = Field(default=None, description="Why it could not be read")


class LookalikeDomainEvidence(TextEvidence):
    """A link to a site made to look like one of the person's own."""

    kind: Literal["lookalike_domain"] = "lookalike_domain"
    domain: str
    resembles: str = Field(description="The person's own domain it imitates")
    reason: str
    url: str | None = None
    page: LinkedPage | None = None

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
    channel: str | None = None


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
    tier_reason: str | None = Field(default=None, description="Why the tier was raised above the detector's")
    priority: AlertPriority
    corroborated_by: list[AlertKind] = Field(
        default_factory=list, description="Other kinds of signal about the person seen in one of its posts"
    )
    campaign_terms: list[str] = Field(
        default_factory=list, description="The operator's campaign terms seen in its posts (they raise the priority)"
    )
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


class ClusterRead(BaseModel):
    """A face alert's perceptual cluster: every copy of the media (re-encoded, resized, cropped, watermarked) that
    was posted, and where."""

    key: str = Field(description="The sha256 of the cluster's first photo (the alert's `subject_key`)")
    copies: int = Field(description="Distinct files (by sha256) of the cluster posted in its occurrences")
    sha256s: list[str] = Field(description="Those files, in the order they were first posted")
    channels: list[str] = Field(description="The channels they were posted on, in the order of their first post")
    first_seen_at: datetime
    last_seen_at: datetime


class AlertDetail(AlertSummary):
    occurrences: list[OccurrenceRead]
    cluster: ClusterRead | None = Field(default=None, description="A face alert's copies of its media")
    related_alert_ids: list[uuid.UUID] = Field(
        default_factory=list, description="Other alerts raised by the same posts (about people the caller sees)"
    )
