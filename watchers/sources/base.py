"""The contract every source kind implements.

A source turns a watch target (a channel, an export folder, a drop folder) into posts, oldest first, strictly
after a cursor, and downloads the media those posts reference. Sources know nothing about the database, faces
or alerts: the scan pipeline above them stores posts, advances the cursor, and analyses the media.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, model_validator


class MediaKind(enum.StrEnum):
    """What a media item is; decides how frames are taken from it."""

    PHOTO = "photo"
    VIDEO = "video"
    ANIMATION = "animation"
    ROUND_VIDEO = "round_video"
    IMAGE_DOCUMENT = "image_document"

    @property
    def is_moving(self) -> bool:
        return self in (MediaKind.VIDEO, MediaKind.ANIMATION, MediaKind.ROUND_VIDEO)


@dataclass(frozen=True)
class MediaRef:
    """A media item of a post, not yet downloaded.

    `locator` is whatever the source needs to download it again later (a URL, a file path, a message id and
    index); it is stored with the post so a failed download can be retried on the next run.
    """

    kind: MediaKind
    locator: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    poster_only: bool = False
    """The locator leads to the media's poster (a still), not to the media: the source cannot fetch the media."""
    not_fetched: str | None = None
    """Why the media itself cannot be fetched (too big for the preview, hidden by it); with no locator, nothing
    of it can be analysed and the item is recorded as skipped with this reason."""
    origin: str | None = None
    """`<channel>/<message id>` of the message that holds the media, when it can be fetched whole through a
    Telegram account (the `telegram` source's locator)."""
    skipped: str | None = None
    """Why this item is kept but not analysed (an animated sticker): recorded as skipped, never downloaded."""


@dataclass(frozen=True)
class FetchedPost:
    """One post as a source sees it. An album (several media sent together) is one post.

    Beside its `text`, what the text signals read: `urls`, every link of the post (in its text, its link entities,
    its link preview), `phone_entities`, the text Telegram itself marked as phone numbers, and `preview`, the link
    preview's site name, title and description, one a line."""

    message_id: int
    channel: str
    permalink: str
    date: datetime
    text: str = ""
    forwarded_from: str | None = None
    media: tuple[MediaRef, ...] = field(default_factory=tuple)
    forwarded_from_username: str | None = None
    """The public username of the channel a forward came from, when the source knows it (candidate channels)."""
    urls: tuple[str, ...] = ()
    phone_entities: tuple[str, ...] = ()
    preview: str = ""

    @property
    def cursor(self) -> str:
        """The cursor value meaning "this post and everything before it has been seen"."""
        return str(self.message_id)


class SourceError(Exception):
    """Base of the typed errors a source raises; the scheduler decides what to do by the subclass."""


class RetryLater(SourceError):
    """A passing failure (rate limit, network, server error): run the watch again after `seconds`."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {seconds:.0f} s")
        self.seconds = seconds
        self.reason = reason or f"retry in {seconds:.0f} s"


class MediaAwaitingFile(SourceError):
    """A media item whose file is not there yet (an export downloaded without it): kept pending, looked for again on
    every run, and analysed once it appears. It does not use up the item's download attempts."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NeedsAttention(SourceError):
    """A failure no retry will fix (private or deleted channel, bad credentials, missing folder)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MediaTooLarge(SourceError):
    """A media item is larger than the configured cap; it is skipped, not retried."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"media is {size} bytes, over the {limit}-byte cap")
        self.size = size
        self.limit = limit


class SourceConfigBase(BaseModel):
    """The base of every source kind's config (each keyed by a literal `kind`).

    An unknown key is refused, never ignored: a typo such as `setle_seconds` would otherwise leave the default in
    force without a word. The reason names the key and the settings the kind does have."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(repr(key) for key in data if key not in cls.model_fields)
            if unknown:
                kind = cls.model_fields["kind"].default
                raise ValueError(
                    f"unknown setting {', '.join(unknown)} for a {kind} source; "
                    f"its settings are {', '.join(cls.model_fields)}"
                )
        return data


@runtime_checkable
class Source(Protocol):
    """A kind of place posts come from. One instance per watch run; cheap to build."""

    def fetch(self, cursor: str | None, limit: int) -> Iterator[FetchedPost]:
        """Yield at most `limit` posts strictly after `cursor` (None: the start), oldest first."""
        ...

    def download(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        """Write the media's bytes to `dest`; raise `MediaTooLarge` past `max_bytes`, `RetryLater` on a
        passing failure."""
        ...


@dataclass(frozen=True)
class HistoryBatch:
    """What one run read of a watch's history: posts older than its live posts, oldest first, where the next run
    goes on from (`position`, the source's own), and whether the history back to `since` is read."""

    posts: tuple[FetchedPost, ...]
    position: str | None
    complete: bool


@runtime_checkable
class HistorySource(Protocol):
    """A source that can read back to a date, a bounded piece per run (`watchers.history`)."""

    def fetch_history(self, since: datetime, position: str | None, max_pages: int) -> HistoryBatch:
        """Posts from `since` on that are older than what `fetch(None, ...)` starts from, going back from
        `position` (None: from the newest), at most `max_pages` requests."""
        ...


@runtime_checkable
class RecentSource(Protocol):
    """A source that can read its recent posts again, to find media replaced by an edit (`watchers.edits`)."""

    def fetch_recent(self, since: datetime, max_pages: int) -> list[FetchedPost]:
        """The posts published from `since` on, as they are now, at most `max_pages` requests."""
        ...


@dataclass(frozen=True)
class SourceContext:
    """What sources get from the installation's settings; injected so tests can point them at local servers.

    `telegram_client` is a started Telethon `TelegramClient` (or an object with the same interface), shared by
    every telegram watch of the process; None when no Telegram account is configured. `telegram_peers` keeps
    resolved usernames across restarts (`watchers.telegram_peers.PeerCache`); None keeps none.
    """

    tme_base_url: str = "https://t.me"
    http_timeout_seconds: float = 30.0
    user_agent: str = "ImpersonationWatch/0.1 (+https://github.com/impersonation-watch)"
    telegram_client: object | None = None
    telegram_peers: object | None = None
