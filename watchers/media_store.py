"""Downloaded media on disk, by content: the downloads runs are holding, and the files kept on purpose.

Everything of one content lives under `root/ab/<sha256>`: the kept file itself (`keep`), one file per download a
run holds (`<sha256>.download-...`) and one per analysis reading it (`<sha256>.read-...`). An analysis asks for the
content by its sha256 (`open`) and gets a hard link of its own to one of these files, so the file system counts
who still needs the bytes: a run that releases its download never takes them from another run or process that is
reading the same content (a post and its repost fetched at once).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from watchers.models import MediaItem
from watchers.sources.base import MediaKind, MediaRef, Source

_HASH_CHUNK = 1024 * 1024


class MediaMissing(LookupError):
    """The store holds no copy of this content: nobody is holding a download of it and it was not kept."""


@dataclass(frozen=True)
class Download:
    """One download's own file, held until `MediaStore.release`."""

    sha256: str
    size: int
    path: Path


@dataclass(frozen=True)
class MediaStore:
    """Downloaded media, by content under `root/ab/abcdef...`. Unless `keep` is set, a download is deleted once it
    is released after its analysis: only the findings (detections, face crops) stay, so the service holds as few
    images of people as it can, and the sha256 in the database still recognises a repost."""

    root: Path
    max_bytes: int
    keep: bool = False

    def path_of(self, sha256: str) -> Path:
        """Where the content is kept when the installation keeps media."""
        return self.root / sha256[:2] / sha256

    def fetch(self, source: Source, item: MediaItem) -> Download:
        """Download the item into a file of its own, held under its content's name, and return it with its sha256
        and size."""
        self.root.mkdir(parents=True, exist_ok=True)
        ref = MediaRef(MediaKind(item.kind), item.locator, item.file_name, None, item.size)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix="download-", delete=False) as target:
            temporary = Path(target.name)
            try:
                source.download(ref, target, self.max_bytes)
            except BaseException:
                target.close()
                temporary.unlink(missing_ok=True)
                raise
        sha256, size = _digest(temporary)
        held = self._own_name(sha256, temporary.name)
        held.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, held)
        return Download(sha256, size, held)

    @contextmanager
    def open(self, sha256: str) -> Iterator[Path]:
        """The content `sha256` at a path of the caller's own, readable until the block ends whoever releases their
        download meanwhile. Raises `MediaMissing` when the store holds no copy."""
        reading = self._link_any(sha256)
        try:
            yield reading
        finally:
            reading.unlink(missing_ok=True)

    def release(self, download: Download) -> None:
        """Done with a download: kept by content (`path_of`) when the installation keeps media, else deleted."""
        if not self.keep:
            download.path.unlink(missing_ok=True)
            return
        os.replace(download.path, self.path_of(download.sha256))

    def remove_leftovers(self) -> int:
        """Delete the downloads and readings a killed process left behind (`download-*` in the root, and
        `<sha256>.download-*` / `<sha256>.read-*` beside the content); never a kept file `ab/<sha256>`. Only safe
        while no other process uses the store: `app.runtime` calls it under the data folder's exclusive lock."""
        if not self.root.is_dir():
            return 0
        leftovers = [*self.root.glob("download-*"), *self.root.glob("*/*.download-*"), *self.root.glob("*/*.read-*")]
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)
        return len(leftovers)

    def remove_all_copies(self, sha256: str) -> int:
        """Erasure: delete the kept file of the content and any download or reading of it left on disk."""
        removed = 0
        for copy in self._copies(sha256):
            try:
                copy.unlink()
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def _own_name(self, sha256: str, tag: str) -> Path:
        kept = self.path_of(sha256)
        return kept.with_name(f"{kept.name}.{tag}")

    def _copies(self, sha256: str) -> list[Path]:
        kept = self.path_of(sha256)
        return [kept, *sorted(kept.parent.glob(f"{sha256}.*"))]

    def _link_any(self, sha256: str) -> Path:
        reading = self._own_name(sha256, f"read-{uuid.uuid4().hex}")
        for copy in self._copies(sha256):
            try:
                os.link(copy, reading)
            except FileNotFoundError:
                continue
            except OSError:
                if not _copy_if_present(copy, reading):
                    continue
            return reading
        raise MediaMissing(f"no copy of media {sha256} is in the store")


def _copy_if_present(source: Path, target: Path) -> bool:
    """A copy of one's own, on a file system without hard links; False when `source` went away first."""
    try:
        with source.open("rb") as stream, target.open("xb") as copy:
            shutil.copyfileobj(stream, copy)
    except FileNotFoundError:
        target.unlink(missing_ok=True)
        return False
    return True


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
