"""Perceptual hashes of photos, so that a re-upload of a fake (re-compressed, resized, cropped a little,
watermarked by another channel) is recognised as the same picture although its bytes differ.

A photo's hash is the 64-bit dHash of `imagehash` (the gradient of a 9x8 greyscale thumbnail), taken after the
uniform borders are trimmed (a channel that pads a picture to a square or frames it does not move it). Two hashes
are compared by their Hamming distance (0 to 64 bits). The thresholds are measured on copies of the sample photos
and on other photos of the same people (`tests/watchers/test_perceptual.py`, README "Perceptual clusters"):

- up to `REUSE_DISTANCE`: a re-encode (another JPEG quality, resized); its analysis is reused, no face work;
- up to `CLUSTER_DISTANCE`: an edited copy (cropped 5%, watermarked); analysed, but the same cluster, so the same
  alert. Other photos of the same person sit well above it.

Not biometric: the hash describes the whole picture's brightness, not a face. Videos are clustered by sha256 only.
Pillow and imagehash are imported inside the functions (the CLI's light commands load neither).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PillowImage

HASH_SIDE = 8
HASH_BITS = HASH_SIDE * HASH_SIDE
REUSE_DISTANCE = 4
CLUSTER_DISTANCE = 17
WAIT_SECONDS = 120.0
"""How long a photo waits for a near copy being analysed by another thread before it is analysed anyway."""
_BORDER_TOLERANCE = 16
_BORDER_SHARE = 0.1
"""A row or column along an edge whose pixels are mostly (this share) the corner's colour is border."""
"""How far (0-255 per channel) a border pixel may be from the corner's colour and still count as border."""


def photo_hash(path: Path) -> str | None:
    """The dHash of a photo after its uniform borders are trimmed, as 16 hex digits; None when the file is not a
    still image Pillow reads (a video, a damaged file)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if getattr(image, "n_frames", 1) > 1:
                return None
            picture = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None
    return hash_of_image(picture)


def hash_of_image(picture: PillowImage) -> str:
    """The dHash (16 hex digits) of a Pillow RGB image, borders trimmed."""
    import imagehash

    return str(imagehash.dhash(_trimmed(picture), hash_size=HASH_SIDE))


def _trimmed(picture: PillowImage) -> PillowImage:
    """The picture without the rows and columns along its edges that are mostly the corner's colour: padding and
    frames, even with a channel's name written on them."""
    import numpy as np
    from PIL import Image

    assert isinstance(picture, Image.Image)
    pixels = np.asarray(picture, dtype=np.int16)
    differs = np.abs(pixels - pixels[0, 0]).max(axis=2) > _BORDER_TOLERANCE
    rows = np.flatnonzero(differs.mean(axis=1) > _BORDER_SHARE)
    columns = np.flatnonzero(differs.mean(axis=0) > _BORDER_SHARE)
    if len(rows) < picture.height // 4 or len(columns) < picture.width // 4:
        return picture
    return picture.crop((int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1))


def distance(first: str, second: str) -> int:
    """The Hamming distance between two hashes of `photo_hash`, in bits."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


@dataclass(frozen=True)
class Neighbour:
    """The nearest analysed photo to a new one: its sha256, its cluster and how far it is."""

    sha256: str
    cluster: str
    distance: int

    @property
    def reusable(self) -> bool:
        return self.distance <= REUSE_DISTANCE


def nearest(phash: str, candidates: list[tuple[str, str, str]]) -> Neighbour | None:
    """Of `(sha256, phash, cluster)` candidates, the nearest within `CLUSTER_DISTANCE`, or None."""
    best: Neighbour | None = None
    for sha256, other, cluster in candidates:
        gap = distance(phash, other)
        if gap <= CLUSTER_DISTANCE and (best is None or gap < best.distance):
            best = Neighbour(sha256, cluster, gap)
    return best


@dataclass
class InFlight:
    """The hashes of the photos this process is analysing: a photo near one of them waits until that one is stored,
    so that it can join its cluster (or reuse its analysis) instead of founding another. Only near copies wait for
    each other, never on a hash their own thread holds, and at most `WAIT_SECONDS`; within one process only
    (analysis across machines would need the database to decide)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: dict[threading.Event, tuple[str, int]] = field(default_factory=dict)

    @contextmanager
    def claim(self, phash: str | None) -> Iterator[str | None]:
        """Hold `phash` while the block runs, after any near hash held by another thread is released."""
        if phash is None:
            yield None
            return
        done = self._wait_then_hold(phash)
        try:
            yield phash
        finally:
            with self._lock:
                del self._running[done]
            done.set()

    def _wait_then_hold(self, phash: str) -> threading.Event:
        me = threading.get_ident()
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with self._lock:
                near = [
                    event
                    for event, (other, owner) in self._running.items()
                    if owner != me and distance(phash, other) <= CLUSTER_DISTANCE
                ]
                left = deadline - time.monotonic()
                if not near or left <= 0:
                    held = threading.Event()
                    self._running[held] = (phash, me)
                    return held
            near[0].wait(left)


IN_FLIGHT = InFlight()
