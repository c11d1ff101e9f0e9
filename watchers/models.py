"""Where media comes from: watches, the posts they found, the media of those posts, and what was seen in it."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.db import UtcDateTime, optional_timestamp_field, timestamp_field
from core.ids import new_id


class WatchState:
    OK = "ok"
    RETRYING = "retrying"
    NEEDS_ATTENTION = "needs_attention"


class Watch(SQLModel, table=True):
    """A place watched on a schedule. `config` is the source's own pydantic config, keyed by `kind`."""

    __table_args__ = (sa.UniqueConstraint("kind", "target", name="uq_watch_target"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    target: str = Field(max_length=500)
    config: dict = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    interval_seconds: int = 300
    enabled: bool = True
    state: str = Field(default=WatchState.OK, max_length=20)
    cursor: str | None = Field(default=None, max_length=200)
    run_requested: bool = False
    retry_at: datetime | None = optional_timestamp_field()
    last_run_at: datetime | None = optional_timestamp_field()
    last_success_at: datetime | None = optional_timestamp_field()
    last_error: str | None = Field(default=None, max_length=2000)
    consecutive_failures: int = 0
    posts_seen: int = 0
    coverage: dict = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    """What the last run could not see or analyse (`watchers.coverage.WatchCoverage`)."""
    since: datetime | None = optional_timestamp_field()
    """Read the channel's history back to this time (`watchers.history`); None: start from the newest posts."""
    history_position: str | None = Field(default=None, max_length=200)
    history_complete: bool = False
    created_at: datetime = timestamp_field()
    updated_at: datetime = timestamp_field()


class Post(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("watch_id", "message_id", name="uq_post_message"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    watch_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("watch.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    channel: str = Field(max_length=500, index=True)
    message_id: int = Field(sa_type=sa.BigInteger)
    permalink: str = Field(max_length=1000)
    posted_at: datetime = Field(sa_type=UtcDateTime)
    text: str = Field(default="", sa_type=sa.Text)
    urls: list[str] = Field(default_factory=list, sa_type=sa.JSON, nullable=False, description="Links of the post")
    phone_entities: list[str] = Field(
        default_factory=list, sa_type=sa.JSON, nullable=False, description="Text Telegram marked as phone numbers"
    )
    preview: str = Field(default="", sa_type=sa.Text, description="The link preview: site name, title, description")
    forwarded_from: str | None = Field(default=None, max_length=500)
    created_at: datetime = timestamp_field()


class MediaStatus:
    PENDING = "pending"
    AWAITING_FILE = "awaiting_file"
    """The file is not there yet (an export without it); looked for on every run, analysed once it appears."""
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class MediaItem(SQLModel, table=True):
    """One photo or video of a post. `sha256` is known once downloaded; the analysis is shared by sha256."""

    __tablename__ = "media_item"
    __table_args__ = (sa.UniqueConstraint("post_id", "position", name="uq_media_position"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    post_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    position: int = 0
    kind: str = Field(max_length=20)
    locator: str = Field(max_length=2000)
    file_name: str | None = Field(default=None, max_length=500)
    sha256: str | None = Field(default=None, max_length=64, index=True)
    size: int | None = Field(default=None, sa_type=sa.BigInteger)
    status: str = Field(default=MediaStatus.PENDING, max_length=20, index=True)
    attempts: int = 0
    error: str | None = Field(default=None, max_length=2000)
    poster_only: bool = False
    """Only the media's poster (a still) was fetched and analysed, not the media (`not_fetched` says why)."""
    not_fetched: str | None = Field(default=None, max_length=2000)
    created_at: datetime = timestamp_field()


class MediaAnalysis(SQLModel, table=True):
    """What the face pipeline saw in one file, by content: a repost of the same file is never analysed again."""

    __tablename__ = "media_analysis"

    sha256: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=20)
    size: int = Field(sa_type=sa.BigInteger)
    width: int
    height: int
    duration: float | None = None
    frames_scanned: int = 1
    faces_found: int = 0
    error_code: str | None = Field(default=None, max_length=100)
    error: str | None = Field(default=None, max_length=2000)
    phash: str | None = Field(default=None, max_length=16, description="A photo's dHash (`watchers.perceptual`)")
    vhash: str | None = Field(
        default=None,
        sa_type=sa.Text,
        description="A video's or an animation's dHashes, two a second, 16 hex digits each (`watchers.perceptual`)",
    )
    vhash_samples: int | None = Field(
        default=None, index=True, description="How many frames `vhash` holds (near copies are looked up by it)"
    )
    cluster: str | None = Field(
        default=None,
        max_length=64,
        index=True,
        description="The sha256 of the first analysed member of its perceptual cluster (its own for the first; "
        "None for analyses made before clusters, and for videos analysed before revision 0012)",
    )
    reused_from: str | None = Field(
        default=None,
        max_length=64,
        description="A near-identical re-encode is not analysed again: the sha256 whose analysis (and detections) "
        "it shares",
    )
    analysed_at: datetime = timestamp_field(index=True)

    @property
    def cluster_key(self) -> str:
        """What the alerts of this content are keyed by: its cluster, or its own sha256."""
        return self.cluster or self.sha256

    @property
    def detections_key(self) -> str:
        """Whose detections hold what was found in this content."""
        return self.reused_from or self.sha256


class Detection(SQLModel, table=True):
    """One enrolled person seen in one file: the best match and every frame where they were matched."""

    __table_args__ = (sa.UniqueConstraint("sha256", "person_id", name="uq_detection_person"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    sha256: str = Field(
        sa_column=sa.Column(
            sa.String(64), sa.ForeignKey("media_analysis.sha256", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    person_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    reference_face_id: uuid.UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("reference_face.id", ondelete="SET NULL"), nullable=True),
    )
    distance: float
    tier: str = Field(default="match", max_length=20)
    box: dict = Field(default_factory=dict, sa_type=sa.JSON, nullable=False)
    best_timestamp: float | None = None
    timestamps: list[float] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    track_timestamps: list[float] = Field(default_factory=list, sa_type=sa.JSON, nullable=False)
    frames_matched: int = 0
    crop_jpeg: bytes | None = Field(default=None, sa_type=sa.LargeBinary, nullable=True)
    encoding: bytes | None = Field(
        default=None,
        sa_type=sa.LargeBinary,
        nullable=True,
        description="The best-matching face's encoding (a face assigned to the person), kept so that a false match "
        "can become a negative; erased with the person",
    )
    created_at: datetime = timestamp_field()


class TelegramPeer(SQLModel, table=True):
    """A channel username resolved through the Telegram account: its id and access hash, so that a restart does not
    resolve every watched username again (contacts.resolveUsername is Telegram's most rate-limited request)."""

    __tablename__ = "telegram_peer"

    username: str = Field(primary_key=True, max_length=32)
    channel_id: int = Field(sa_type=sa.BigInteger)
    access_hash: int = Field(sa_type=sa.BigInteger)
    resolved_at: datetime = timestamp_field()
