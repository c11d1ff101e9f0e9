"""Perceptual hashes of photos, so that a re-upload of a fake (re-compressed, resized, cropped a little,
watermarked by another channel) is recognised as the same picture although its bytes differ.

A photo's hash is the 64-bit dHash of `imagehash` (the gradient of a 9x8 greyscale thumbnail), taken after the
uniform borders are trimmed (a channel that pads a picture to a square or frames it does not move it). Two hashes
are compared by their Hamming distance (0 to 64 bits). The thresholds are measured on copies of the sample photos
and on other photos of the same people (`tests/watchers/test_perceptual.py`, README "Perceptual clusters"):

- up to `REUSE_DISTANCE`: a re-encode (another JPEG quality, resized); its analysis is reused, no face work;
- up to `CLUSTER_DISTANCE`: an edited copy (cropped 5%, watermarked); analysed, but the same cluster, so the same
  alert. Other photos of the same person sit well above it.

A video's (or an animation's) hash is a sequence of the same dHashes, of frames sampled `VIDEO_FPS` times a second
from its first frame (`watchers.frames`). Two sequences are compared at the best of a few shifts (up to
`VIDEO_SHIFT` samples each way, so a copy whose first frame moved a little still lines up) by the median Hamming
distance of the frames paired, and only when their lengths agree within the shift (a re-upload keeps its length):

- a re-encode: the median up to `REUSE_DISTANCE` and no pair over `VIDEO_REUSE_FRAME_DISTANCE` (a spliced-in
  second of other footage is analysed, not reused);
- an edited copy: the median up to `CLUSTER_DISTANCE`.

Not biometric: the hash describes the whole picture's brightness, not a face. Pillow, imagehash, numpy and PyAV are
imported inside the functions (the CLI's light commands load none of them).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    from PIL.Image import Image as PillowImage

    from watchers.frames import VideoFrame

HASH_SIDE = 8
HASH_BITS = HASH_SIDE * HASH_SIDE
REUSE_DISTANCE = 4
CLUSTER_DISTANCE = 17
VIDEO_FPS = 2.0
"""Frames hashed per second of video. At 1, two cuts of one scene half a second apart fall between each other's
frames (14-18 bits apart); at 2 they line up. Decoding, the cost, is the same at any rate."""
VIDEO_SHIFT = 2
"""Samples each way (a second at `VIDEO_FPS`) that two sequences may be shifted to line up."""
VIDEO_REUSE_FRAME_DISTANCE = 12
"""No frame of a re-encode is further (measured up to 10, a resized copy); a copy with other footage spliced in is."""
VIDEO_MAX_SECONDS = 1800.0
"""A longer video gets no hash (the analysis refuses it by default too)."""
_VIDEO_FRAME_SIDE = 256
"""Frames are scaled to this width before their borders are trimmed and they are hashed (the hash is 9x8)."""
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


def video_hash(path: Path) -> str | None:
    """The dHashes of a video's or an animation's frames sampled `VIDEO_FPS` times a second, 16 hex digits each,
    one after another; None when the file is neither (a photo) or cannot be decoded (the analysis says why)."""
    from core import media_types
    from core.errors import InputRejected
    from watchers.frames import FrameSampling, SampledAnimation, SampledVideo
    from watchlist.images import DEFAULT_MAX_PIXELS, open_animation

    sampling = FrameSampling(VIDEO_FPS, VIDEO_MAX_SECONDS, max_frames=int(VIDEO_MAX_SECONDS * VIDEO_FPS))
    sniffed = media_types.sniff_file(path)
    try:
        if sniffed is not None and sniffed.is_video:
            return _hash_frames(SampledVideo(path, sampling).frames())
        if sniffed is not None and sniffed.is_image:
            animation = open_animation(path.read_bytes(), DEFAULT_MAX_PIXELS)
            return _hash_frames(SampledAnimation(animation, sampling).frames()) if animation is not None else None
    except InputRejected:
        return None
    return None


def _hash_frames(frames: Iterator[VideoFrame]) -> str | None:
    from PIL import Image

    hashes = []
    for frame in frames:
        picture = Image.fromarray(frame.rgb)
        if picture.width > _VIDEO_FRAME_SIDE:
            height = max(1, round(picture.height * _VIDEO_FRAME_SIDE / picture.width))
            picture = picture.resize((_VIDEO_FRAME_SIDE, height), Image.Resampling.BILINEAR)
        hashes.append(hash_of_image(picture.convert("RGB")))
    return "".join(hashes) or None


def video_samples(vhash: str) -> int:
    """How many frames a `video_hash` holds."""
    return len(vhash) // 16


@dataclass(frozen=True)
class Gap:
    """How far one media hash is from another: bits for photos, the median over frames paired for videos (with the
    largest pair's bits)."""

    distance: float
    worst: int

    @property
    def reusable(self) -> bool:
        return self.distance <= REUSE_DISTANCE and self.worst <= VIDEO_REUSE_FRAME_DISTANCE

    @property
    def clusters(self) -> bool:
        return self.distance <= CLUSTER_DISTANCE


def video_gap(first: str, second: str) -> Gap | None:
    """The gap between two `video_hash` sequences at the shift that lines them up best; None when their lengths
    differ by more than `VIDEO_SHIFT` samples (not a copy of each other)."""
    gaps = _video_gaps(_frame_hashes(first), [_frame_hashes(second)])
    return gaps[0] if gaps else None


def _video_gaps(a: np.ndarray, others: list[np.ndarray]) -> list[Gap]:
    """The gaps from `a` to each of `others`, all of one length within `VIDEO_SHIFT` samples of `a`'s (an empty
    list otherwise), computed for all of them at once."""
    import numpy as np

    if not others or abs(len(a) - len(others[0])) > VIDEO_SHIFT:
        return []
    matrix = np.stack(others)
    length = matrix.shape[1]
    best_median = np.full(len(others), np.inf)
    best_worst = np.zeros(len(others), dtype=np.int64)
    for shift in range(-VIDEO_SHIFT, VIDEO_SHIFT + 1):
        start, end = max(0, -shift), min(len(a), length - shift)  # frame i of `a` paired with i + shift
        if end - start < _least_paired(min(len(a), length)):
            continue
        bits = np.bitwise_count(a[start:end] ^ matrix[:, start + shift : end + shift])
        median, worst = np.median(bits, axis=1), bits.max(axis=1)
        better = (median < best_median) | ((median == best_median) & (worst < best_worst))
        best_median, best_worst = np.where(better, median, best_median), np.where(better, worst, best_worst)
    return [Gap(float(median), int(worst)) for median, worst in zip(best_median, best_worst, strict=True)]


def _least_paired(samples: int) -> int:
    """How many frames two sequences must pair at a shift: all but `VIDEO_SHIFT`, and at least three quarters (a
    short clip is not matched on its first frame against another's last)."""
    return max(1, samples - VIDEO_SHIFT, math.ceil(0.75 * samples))


def _frame_hashes(vhash: str) -> np.ndarray:
    import numpy as np

    return np.frombuffer(bytes.fromhex(vhash), dtype=">u8").astype(np.uint64)


@dataclass(frozen=True)
class MediaHash:
    """A photo's dHash or a video's sequence of them (`photo_hash`, `video_hash`)."""

    kind: Literal["photo", "video"]
    value: str

    def gap(self, other: str) -> Gap | None:
        """The gap to another hash of the same kind; None when they cannot be copies of each other."""
        if self.kind == "video":
            return video_gap(self.value, other)
        bits = distance(self.value, other)
        return Gap(bits, bits)

    def near(self, other: MediaHash) -> bool:
        if other.kind != self.kind:
            return False
        gap = self.gap(other.value)
        return gap is not None and gap.clusters


def media_hash(path: Path) -> MediaHash | None:
    """The perceptual hash of a photo, a video or an animation; None for a file that is none of them."""
    phash = photo_hash(path)
    if phash is not None:
        return MediaHash("photo", phash)
    vhash = video_hash(path)
    return MediaHash("video", vhash) if vhash is not None else None


@dataclass(frozen=True)
class Neighbour:
    """The nearest analysed media to a new one: its sha256, its cluster and how far it is."""

    sha256: str
    cluster: str
    gap: Gap

    @property
    def distance(self) -> float:
        return self.gap.distance

    @property
    def reusable(self) -> bool:
        return self.gap.reusable


def nearest(media: MediaHash, candidates: Iterable[tuple[str, str, str]]) -> Neighbour | None:
    """Of `(sha256, hash, cluster)` candidates of the same kind, the nearest within `CLUSTER_DISTANCE`, or None.
    Videos are compared a length at a time, all candidates of one length in one numpy operation per shift."""
    if media.kind == "video":
        return _nearest_video(media.value, candidates)
    best: Neighbour | None = None
    for sha256, other, cluster in candidates:
        gap = media.gap(other)
        if gap is not None and gap.clusters and (best is None or (gap.distance, gap.worst) < _rank(best)):
            best = Neighbour(sha256, cluster, gap)
    return best


def _nearest_video(vhash: str, candidates: Iterable[tuple[str, str, str]]) -> Neighbour | None:
    a = _frame_hashes(vhash)
    by_length: dict[int, list[tuple[str, str, np.ndarray]]] = {}
    for sha256, other, cluster in candidates:
        frames = _frame_hashes(other)
        by_length.setdefault(len(frames), []).append((sha256, cluster, frames))
    best: Neighbour | None = None
    for group in by_length.values():
        gaps = _video_gaps(a, [frames for _, _, frames in group])
        for (sha256, cluster, _), gap in zip(group, gaps, strict=False):
            if gap.clusters and (best is None or (gap.distance, gap.worst) < _rank(best)):
                best = Neighbour(sha256, cluster, gap)
    return best


def _rank(neighbour: Neighbour) -> tuple[float, int]:
    return neighbour.gap.distance, neighbour.gap.worst


@dataclass
class InFlight:
    """The hashes of the media this process is analysing: a photo or a video near one of them waits until that one
    is stored, so that it can join its cluster (or reuse its analysis) instead of founding another. Only near copies
    wait for each other, never on a hash their own thread holds, and at most `WAIT_SECONDS`; within one process only
    (analysis across machines would need the database to decide)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _running: dict[threading.Event, tuple[MediaHash, int]] = field(default_factory=dict)

    @contextmanager
    def claim(self, media: MediaHash | None) -> Iterator[MediaHash | None]:
        """Hold `media` while the block runs, after any near hash held by another thread is released."""
        if media is None:
            yield None
            return
        done = self._wait_then_hold(media)
        try:
            yield media
        finally:
            with self._lock:
                del self._running[done]
            done.set()

    def _wait_then_hold(self, media: MediaHash) -> threading.Event:
        me = threading.get_ident()
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            with self._lock:
                near = [event for event, (other, owner) in self._running.items() if owner != me and media.near(other)]
                left = deadline - time.monotonic()
                if not near or left <= 0:
                    held = threading.Event()
                    self._running[held] = (media, me)
                    return held
            near[0].wait(left)


IN_FLIGHT = InFlight()


class PhotoHashIndex:
    """The analysed photos' hashes held in this process as one numpy array, so that finding the nearest is one XOR
    and popcount over all of them, not a query that reads every hash again for each new photo.

    The caller adds what was stored since its last look (by anyone: other processes and machines too), reading only
    those rows (`watchers.analysis`); what was removed meanwhile may linger, and is checked before it is relied on
    (a reuse reads the neighbour's analysis, and analyses the photo itself when it is gone)."""

    def __init__(self) -> None:
        import numpy as np

        self._hashes: np.ndarray = np.zeros(0, dtype=np.uint64)
        self._rows: list[tuple[str, str]] = []
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def add(self, rows: Iterable[tuple[str, str, str]]) -> None:
        """`(sha256, phash, cluster)` rows; those already held are skipped."""
        import numpy as np

        with self._lock:
            new = [(sha, phash, cluster) for sha, phash, cluster in rows if sha not in self._known]
            if not new:
                return
            self._known.update(sha for sha, _, _ in new)
            self._rows += [(sha, cluster) for sha, _, cluster in new]
            fresh = np.array([int(phash, 16) for _, phash, _ in new], dtype=np.uint64)
            self._hashes = np.concatenate([self._hashes, fresh])

    def nearest(self, phash: str) -> Neighbour | None:
        """The nearest held photo within `CLUSTER_DISTANCE` bits (the first stored, of equally near ones)."""
        import numpy as np

        with self._lock:
            hashes, rows = self._hashes, self._rows
        if not len(hashes):
            return None
        bits = np.bitwise_count(np.bitwise_xor(hashes, np.uint64(int(phash, 16))))
        index = int(np.argmin(bits))
        if bits[index] > CLUSTER_DISTANCE:
            return None
        sha256, cluster = rows[index]
        return Neighbour(sha256, cluster, Gap(int(bits[index]), int(bits[index])))

    def __len__(self) -> int:
        return len(self._rows)
