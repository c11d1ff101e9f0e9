"""A drop folder of media files: every new photo or video put into the folder is a post.

Which files are media is decided by their first bytes, never by their names, by the same rule as a scan
(`core.media_types`): JPEG, PNG, WebP, GIF, BMP, TIFF and HEIF/HEIC are photos (an animated GIF, WebP or PNG is an
animation, analysed frame by frame like a video); MP4/MOV/3GP
(an ISO `ftyp` box), Matroska/WebM and AVI are videos. Everything else (text, PDF, AVIF images, audio) is
ignored. Hidden files and folders (a name starting with "."), browser download leftovers (`.part`, `.crdownload`,
...) and symbolic links are ignored too.

When a file arrived
-------------------
A file's *arrival time* is the later of its modification time and its status-change time (ctime). The kernel sets
ctime to "now" whenever a file is created, renamed into the folder or written, and nothing can set it back. The
modification time alone would not do: `mv`, `rsync -a`, Syncthing, rclone, unzip and most file managers keep a
file's original modification time, so a photo taken last year and dropped in today would sort before files already
processed and be skipped for ever. A file whose arrival time is less than `settle_seconds` before now is still
being written (or was just moved in) and is left for the next run. A modification time ahead of the watch's own
clock is not believed (the file would otherwise wait until that date, then jump the cursor past files that arrived
in between): such a file arrives at its ctime. Once the clock passes that modification time the file arrives again
(and is yielded again; the media cache knows its bytes).

FIFOs, devices and sockets are never opened (a FIFO would block a run for ever): they are skipped with a warning,
and every file is opened without blocking and checked to be a regular file before it is read.

Order and cursor
----------------
`FetchedPost.cursor` is `str(message_id)`, so a file's message id must both identify it and order it. It is
`arrival millisecond * 1_000_000 + slot`, where the slot (0..999_999) comes from a hash of the file's path
relative to the folder; files that arrived in the same millisecond and hash to the same slot take the next free
slot, in path order. Posts are yielded in message id order. The id of a file depends only on its own arrival time
and path, so adding or deleting other files never renumbers it. Because only files settled for `settle_seconds`
are read (keep it above zero), a file arriving later always arrives in a later millisecond than every file
already processed, so it can never sort before the cursor. Ids stay within a signed 64-bit integer until the year 2262.

A file touched again later (rewritten, renamed, its permissions changed) arrives again and is yielded again; the
media cache recognises the same bytes, so nothing is analysed twice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Literal

from pydantic import Field

from watchers.sources.base import FetchedPost, MediaRef, NeedsAttention, SourceConfigBase, SourceContext
from watchers.sources.helpers import SniffedMedia, copy_file_capped, file_inside, parse_cursor, sniff_media

logger = logging.getLogger(__name__)

SLOTS_PER_MILLISECOND = 1_000_000
_NANOSECONDS_PER_MILLISECOND = 1_000_000
_TEMPORARY_SUFFIXES = frozenset({".part", ".partial", ".crdownload", ".download", ".tmp"})


class FolderConfig(SourceConfigBase):
    """A watched drop folder."""

    kind: Literal["folder"] = "folder"
    path: str = Field(min_length=1)
    recursive: bool = True
    settle_seconds: float = Field(default=2.0, ge=0)


@dataclass(frozen=True)
class _DroppedFile:
    relative: str
    path: Path
    arrival_ns: int
    modified_ns: int
    size: int


class FolderSource:
    """Yields every settled media file of a folder as a post; see the module docstring for the order."""

    def __init__(
        self,
        config: FolderConfig,
        context: SourceContext,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._context = context
        self._clock = clock
        self._root = Path(config.path).resolve()

    def fetch(self, cursor: str | None, limit: int) -> Iterator[FetchedPost]:
        """Yield at most `limit` media files that arrived after `cursor`, oldest first.

        The folder is listed when this is called, so a missing folder raises `NeedsAttention` at once."""
        after = parse_cursor(cursor, "a drop folder position")
        numbered = _number_files(self._settled_files())
        pending = [(message_id, dropped) for message_id, dropped in numbered if after is None or message_id > after]
        return self._media_posts(pending, limit)

    def download(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        """Copy the file to `dest`; a locator pointing outside the folder raises `NeedsAttention`."""
        copy_file_capped(file_inside(self._root, media.locator), dest, max_bytes)

    def _media_posts(self, pending: list[tuple[int, _DroppedFile]], limit: int) -> Iterator[FetchedPost]:
        yielded = 0
        for message_id, dropped in pending:
            if yielded >= limit:
                return
            sniffed = sniff_media(dropped.path)
            if sniffed is None:
                continue
            yield self._post(message_id, dropped, sniffed)
            yielded += 1

    def _post(self, message_id: int, dropped: _DroppedFile, sniffed: SniffedMedia) -> FetchedPost:
        media = MediaRef(
            kind=sniffed.kind,
            locator=dropped.relative,
            file_name=dropped.path.name,
            mime_type=sniffed.mime_type,
            size=dropped.size,
        )
        return FetchedPost(
            message_id=message_id,
            channel=str(self._root),
            permalink=dropped.path.as_uri(),
            date=_utc_from_ns(dropped.modified_ns),
            text=dropped.path.name,
            media=(media,),
        )

    def _settled_files(self) -> list[_DroppedFile]:
        now_ns = int(self._clock() * 1_000_000_000)
        settled_before_ns = now_ns - int(self._config.settle_seconds * 1_000_000_000)
        settled = []
        for path, stat in self._visible_files():
            arrival_ns = _arrival_ns(stat, now_ns)
            if arrival_ns > settled_before_ns:
                logger.debug("%s is still settling; left for the next run", path)
                continue
            relative = path.relative_to(self._root).as_posix()
            settled.append(_DroppedFile(relative, path, arrival_ns, stat.st_mtime_ns, stat.st_size))
        return settled

    def _visible_files(self) -> Iterator[tuple[Path, os.stat_result]]:
        if not self._root.is_dir():
            raise NeedsAttention(f"drop folder {self._root} does not exist or is not a folder")
        folders = [self._root]
        while folders:
            folder = folders.pop()
            for entry in self._entries(folder):
                if _is_hidden(entry.name) or entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if self._config.recursive:
                        folders.append(Path(entry.path))
                elif not entry.is_file(follow_symlinks=False):
                    logger.warning("skipping %s: not a regular file (a FIFO, device or socket)", entry.path)
                elif not _is_temporary_name(entry.name):
                    try:
                        yield Path(entry.path), entry.stat(follow_symlinks=False)
                    except FileNotFoundError:
                        continue

    def _entries(self, folder: Path) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as entries:
                return list(entries)
        except OSError as error:
            if folder == self._root:
                raise NeedsAttention(f"cannot list drop folder {folder}: {error.strerror}") from error
            logger.warning("cannot list %s, skipping it: %s", folder, error.strerror)
            return []


def _number_files(files: Iterable[_DroppedFile]) -> list[tuple[int, _DroppedFile]]:
    """Give each file its message id (arrival millisecond and path slot) and sort by it."""
    by_millisecond: dict[int, list[_DroppedFile]] = defaultdict(list)
    for dropped in files:
        by_millisecond[dropped.arrival_ns // _NANOSECONDS_PER_MILLISECOND].append(dropped)
    numbered = []
    for millisecond, group in by_millisecond.items():
        for slot, dropped in _slots(group):
            numbered.append((millisecond * SLOTS_PER_MILLISECOND + slot, dropped))
    numbered.sort(key=lambda item: item[0])
    return numbered


def _slots(group: list[_DroppedFile]) -> Iterator[tuple[int, _DroppedFile]]:
    """Each file's own path slot; on a clash, the next free one, files taken in path order."""
    if len(group) > SLOTS_PER_MILLISECOND:
        raise NeedsAttention(f"more than {SLOTS_PER_MILLISECOND} files arrived in the same millisecond")
    taken: set[int] = set()
    for dropped in sorted(group, key=lambda dropped: dropped.relative):
        slot = path_slot(dropped.relative)
        while slot in taken:
            slot = (slot + 1) % SLOTS_PER_MILLISECOND
        taken.add(slot)
        yield slot, dropped


def path_slot(relative: str) -> int:
    """A stable number in 0..999_999 for a relative path."""
    digest = hashlib.blake2b(relative.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % SLOTS_PER_MILLISECOND


def _arrival_ns(stat: os.stat_result, now_ns: int) -> int:
    """The later of modification and status-change time, except that a modification time ahead of the watch's
    clock (set into the future by `touch -d`, a camera with a wrong clock, an archive) is not believed: the
    status-change time, which the kernel sets to the real "now", decides instead."""
    if stat.st_mtime_ns > now_ns:
        return stat.st_ctime_ns
    return max(stat.st_mtime_ns, stat.st_ctime_ns)


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _is_temporary_name(name: str) -> bool:
    return Path(name).suffix.lower() in _TEMPORARY_SUFFIXES


def _utc_from_ns(timestamp_ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=timestamp_ns // 1000)
