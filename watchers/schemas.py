"""API shapes of scans and watches."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from core.schemas import RequestBody
from watchers.sources.registry import SourceConfig
from watchlist.schemas import FaceBox

if TYPE_CHECKING:
    from watchers.scanning import FileAnalysis
    from watchlist.engine import Box


def _box(box: Box) -> FaceBox:
    return FaceBox(**box.as_dict())


class MatchRead(BaseModel):
    person_id: uuid.UUID
    display_name: str
    distance: float
    reference_face_id: uuid.UUID
    tier: str = Field(description="match (an alert) or possible (kept for review)")
    score: float = Field(
        description="What the tier was decided on: the nearer of `distance` and the distance to the mean of the "
        "person's references"
    )


class FaceRead(BaseModel):
    box: FaceBox
    timestamp: float | None = Field(
        description="Seconds from the first frame of the video or animation; null for a photo"
    )
    matches: list[MatchRead]


class PersonFound(BaseModel):
    person_id: uuid.UUID
    display_name: str
    best_distance: float
    reference_face_id: uuid.UUID
    best_box: FaceBox
    best_timestamp: float | None
    frames_matched: int = Field(
        description="Frames of the video or animation in which the person was matched (0 for a photo)"
    )
    timestamps: list[float]
    tier: str = Field(
        description="match, or possible; a video is a match when one track's faces agree over enough frames or one "
        "frame is far below the threshold"
    )
    track_timestamps: list[float] = Field(description="The deciding track's match frames (video or animation)")


class ScanResult(BaseModel):
    kind: str = Field(
        description="photo, video or animation (an animated GIF, WebP or PNG), decided by the file's content"
    )
    sha256: str
    size: int
    width: int
    height: int
    duration: float | None = None
    frames_scanned: int
    truncated: bool = Field(
        description="True when frames were left out (the frame or time cap) or faces were (the face cap per image)"
    )
    faces: list[FaceRead]
    persons: list[PersonFound] = Field(description="Each matched person once, nearest first")

    @classmethod
    def from_analysis(cls, analysis: FileAnalysis, names: dict[uuid.UUID, str]) -> ScanResult:
        return cls(
            kind=analysis.kind,
            sha256=analysis.sha256,
            size=analysis.size,
            width=analysis.width,
            height=analysis.height,
            duration=analysis.duration,
            frames_scanned=analysis.frames_scanned,
            truncated=analysis.truncated,
            faces=[
                FaceRead(
                    box=_box(face.box),
                    timestamp=face.timestamp,
                    matches=[
                        MatchRead(
                            person_id=match.person_id,
                            display_name=names.get(match.person_id, ""),
                            distance=round(match.distance, 4),
                            reference_face_id=match.reference_id,
                            tier=match.tier,
                            score=round(match.score if match.score is not None else match.distance, 4),
                        )
                        for match in face.matches
                    ],
                )
                for face in analysis.faces
            ],
            persons=[
                PersonFound(
                    person_id=evidence.person_id,
                    display_name=names.get(evidence.person_id, ""),
                    best_distance=round(evidence.best_distance, 4),
                    reference_face_id=evidence.reference_id,
                    best_box=_box(evidence.best_box),
                    best_timestamp=evidence.best_timestamp,
                    frames_matched=evidence.frames_matched,
                    timestamps=[round(t, 3) for t in evidence.timestamps],
                    tier=evidence.tier,
                    track_timestamps=[round(t, 3) for t in evidence.track_timestamps],
                )
                for evidence in analysis.persons
            ],
        )


class WatchCreate(RequestBody):
    source: SourceConfig = Field(
        description='What to watch, by kind: {"kind": "tme_preview", "channel": "name"}, '
        '{"kind": "telegram", "channel": "name"}, {"kind": "telegram_export", "path": "..."}, '
        '{"kind": "folder", "path": "..."}'
    )
    interval_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600, description="Default: the setting")
    enabled: bool = True
    since: datetime | None = Field(
        default=None,
        description="Also read the channel's history back to this ISO 8601 time (a few pages a run, resumed on the "
        "next; a time without an offset is UTC). Without it the watch starts from the channel's newest posts",
    )


class WatchUpdate(RequestBody):
    interval_seconds: int | None = Field(default=None, ge=1, le=7 * 24 * 3600)
    enabled: bool | None = Field(default=None, description="false pauses the watch, true resumes it")


class WatchCoverage(BaseModel):
    """What the watch could not see or analyse, as of its last run."""

    poster_only: int = Field(
        default=0, description="Videos the source could not fetch, of which only the poster was analysed"
    )
    not_fetched: int = Field(default=0, description="Media the source hides entirely: nothing of them was analysed")
    awaiting_file: int = Field(
        default=0, description="Media whose file is not in the export folder yet; analysed when it appears"
    )
    notes: list[str] = Field(default_factory=list, description="How the source read the posts, where it matters")


class WatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    target: str
    config: dict
    interval_seconds: int
    enabled: bool
    state: str = Field(description="ok, retrying (a passing failure) or needs_attention (a person must act)")
    cursor: str | None
    run_requested: bool
    retry_at: datetime | None
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    posts_seen: int
    coverage: WatchCoverage
    since: datetime | None = Field(description="The watch reads the channel's history back to this time")
    history_complete: bool = Field(description="Whether the history back to `since` has been read")
    created_at: datetime
