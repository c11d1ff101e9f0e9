"""What every source shares: reading a stored cursor, copying media under a size cap, local files under a root,
and telling media files apart by content (the bytes rule is `core.media_types`; this adds the source's kinds)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from core import media_types
from watchers.sources.base import MediaKind, MediaTooLarge, NeedsAttention

logger = logging.getLogger(__name__)

COPY_CHUNK_BYTES = 1024 * 1024


def parse_cursor(cursor: str | None, what: str) -> int | None:
    """A stored cursor as the non-negative integer position it holds; None (or "") means the start.

    Anything else means a tampered or foreign database row, which no retry fixes: `NeedsAttention`, saying the
    cursor is not `what` ("a Telegram message id", say)."""
    if cursor is None or cursor == "":
        return None
    text = cursor.strip()
    if not (text.isascii() and text.isdecimal()):
        raise NeedsAttention(f"cursor {cursor!r} is not {what}")
    return int(text)


def refuse_declared_size(size: int | None, max_bytes: int) -> None:
    """`MediaTooLarge` before any byte is read when the size the source declares is over the cap."""
    if size is not None and size > max_bytes:
        raise MediaTooLarge(size, max_bytes)


class CappedWriter:
    """A file object that passes writes on to `dest` until `max_bytes`, then raises `MediaTooLarge` without
    writing the chunk that crosses the cap. Handed to libraries that write downloads themselves (Telethon)."""

    def __init__(self, dest: IO[bytes], max_bytes: int) -> None:
        self._dest = dest
        self._max_bytes = max_bytes
        self.written = 0

    def write(self, chunk: bytes) -> int:
        if self.written + len(chunk) > self._max_bytes:
            raise MediaTooLarge(self.written + len(chunk), self._max_bytes)
        self._dest.write(chunk)
        self.written += len(chunk)
        return len(chunk)

    def flush(self) -> None:
        self._dest.flush()


def copy_capped(chunks: Iterable[bytes], dest: IO[bytes], max_bytes: int) -> int:
    """Write `chunks` to `dest`, raising `MediaTooLarge` as soon as they pass `max_bytes`; the bytes written."""
    writer = CappedWriter(dest, max_bytes)
    for chunk in chunks:
        writer.write(chunk)
    return writer.written


def read_chunks(source: IO[bytes], size: int = COPY_CHUNK_BYTES) -> Iterator[bytes]:
    while chunk := source.read(size):
        yield chunk


def copy_file_capped(path: Path, dest: IO[bytes], max_bytes: int) -> None:
    """Copy a local file to `dest`; `MediaTooLarge` before writing anything when it is over `max_bytes`, and as
    soon as a file that grows while it is copied passes it. An unreadable file raises `NeedsAttention`."""
    with open_regular_file(path) as source:
        refuse_declared_size(os.fstat(source.fileno()).st_size, max_bytes)
        copy_capped(read_chunks(source), dest, max_bytes)


def open_regular_file(path: Path) -> IO[bytes]:
    """`path` opened for reading, only if it is a regular file: `NeedsAttention` for a FIFO, a device, a socket or
    a folder, and for a file that cannot be read.

    The file is opened without blocking (O_NONBLOCK) and checked with fstat on the opened descriptor, so a FIFO put
    in a watched folder (or swapped in for a file after it was listed) never hangs a run waiting for a writer."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise NeedsAttention(f"cannot read media file {path}: {error.strerror}") from error
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise NeedsAttention(f"media file {path} is not a regular file (a FIFO, device or socket); skipped")
        os.set_blocking(descriptor, True)
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def file_inside(root: Path, locator: str) -> Path:
    """The file `locator` (a path relative to `root`) names; `NeedsAttention` if it resolves outside `root`.

    Locators are stored with posts, so one pointing elsewhere (`../`, an absolute path, a symbolic link out of
    the folder) means a tampered database or folder: a person has to look at it."""
    resolved_root = root.resolve()
    candidate = (resolved_root / locator).resolve()
    if not candidate.is_relative_to(resolved_root):
        raise NeedsAttention(f"media locator {locator!r} points outside {resolved_root}")
    return candidate


@dataclass(frozen=True)
class SniffedMedia:
    """What a file's content says it is, as a source's media kind."""

    kind: MediaKind
    mime_type: str


def sniff_media(path: Path) -> SniffedMedia | None:
    """A local file's media kind by content: images are photos (an animated GIF, WebP or PNG is an animation),
    videos are videos; None when it is neither, or cannot be read (logged)."""
    try:
        with open_regular_file(path) as file:
            sniffed = media_types.sniff(file.read(media_types.HEADER_BYTES))
    except NeedsAttention as error:
        logger.warning("skipping %s: %s", path, error.reason)
        return None
    except OSError as error:
        logger.warning("cannot read %s, skipping it: %s", path, error.strerror)
        return None
    if sniffed is None:
        return None
    if sniffed.is_video:
        return SniffedMedia(MediaKind.VIDEO, sniffed.mime_type)
    if sniffed.mime_type in _ANIMATED_MIME_TYPES and _is_animation(path):
        return SniffedMedia(MediaKind.ANIMATION, sniffed.mime_type)
    return SniffedMedia(MediaKind.PHOTO, sniffed.mime_type)


_ANIMATED_MIME_TYPES = frozenset({"image/gif", "image/webp", "image/png"})


def _is_animation(path: Path) -> bool:
    """An animated GIF, WebP or PNG, which the analysis samples like a video (`watchlist.images.open_animation`)."""
    from watchlist.images import is_animation_file  # Pillow and numpy: imported when a file is looked at

    try:
        return is_animation_file(path)
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        logger.warning("cannot read image %s, treating it as a still image: %s", path, error)
        return False
