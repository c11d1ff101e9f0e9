"""Analysing one media file: frames, faces, matches, and per-person evidence across frames."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import media_types
from core.errors import InputRejected
from watchers.frames import FrameSampling, SampledAnimation, SampledVideo
from watchlist.calibration import BIN_WIDTH, BINS
from watchlist.engine import Box, FaceEngine, face_crop
from watchlist.images import decode_image, encode_jpeg, open_animation
from watchlist.matcher import MATCH, POSSIBLE, Match, Matcher

TRACK_DISTANCE = 0.6
"""Two faces of consecutive sampled frames are one track when their encodings are this close (the nearest wins)."""
TRACK_GAP_FRAMES = 2
"""A track is continued by a face at most this many sampled frames after its last one."""

_HASH_CHUNK = 1024 * 1024


class AnalysisTimeout(InputRejected):
    @classmethod
    def after(cls, seconds: float) -> AnalysisTimeout:
        return cls("analysis_timeout", f"the analysis took longer than the limit of {seconds:g} s and was stopped")


class TimeLimit:
    """A limit on one analysis, checked between frames and between the faces of a frame (detection in one frame is
    bounded by the pixel limit and the detector's downscaling, encoding by the face cap). `clock` is monotonic
    seconds."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self.started = clock()

    def check(self) -> None:
        if self._clock() - self.started > self.seconds:
            raise AnalysisTimeout.after(self.seconds)


@dataclass(frozen=True)
class FaceSighting:
    """One face found in one frame (a photo has one frame, at timestamp None; a video's or an animation's are
    timed in seconds from the first frame)."""

    box: Box
    timestamp: float | None
    matches: list[Match]
    crop_jpeg: bytes | None = None
    track: int | None = None
    """Which track of the video or animation the face belongs to (the same face followed across frames)."""


@dataclass
class PersonEvidence:
    """Everything one media file says about one person: the best distance and where the person was seen."""

    person_id: uuid.UUID
    best_distance: float
    reference_id: uuid.UUID
    best_box: Box
    best_timestamp: float | None
    crop_jpeg: bytes | None
    timestamps: list[float] = field(default_factory=list)
    frames_matched: int = 0
    tier: str = POSSIBLE
    """`match` for a photo whose face is a match; for a video, when one track has enough `match` frames or one frame
    is far below the threshold (`decide_tier`)."""
    encoding: np.ndarray | None = None
    """The best face's encoding (a face assigned to this person), so that a false match can become a negative."""
    best_match_distance: float = np.inf
    track_timestamps: list[float] = field(default_factory=list)
    """The timestamps of the deciding track's `match` frames."""
    _track_frames: dict[int, list[float]] = field(default_factory=dict)

    def add(self, sighting: FaceSighting, match: Match, encoding: np.ndarray) -> None:
        if sighting.timestamp is not None and sighting.timestamp not in self.timestamps:
            self.timestamps.append(sighting.timestamp)
            self.frames_matched += 1
        if match.tier == MATCH:
            self.best_match_distance = min(self.best_match_distance, match.score or match.distance)
            if sighting.track is not None and sighting.timestamp is not None:
                frames = self._track_frames.setdefault(sighting.track, [])
                if sighting.timestamp not in frames:
                    frames.append(sighting.timestamp)
            elif sighting.timestamp is None:
                self.tier = MATCH
        if match.distance < self.best_distance:
            self.best_distance = match.distance
            self.reference_id = match.reference_id
            self.best_box = sighting.box
            self.best_timestamp = sighting.timestamp
            self.crop_jpeg = sighting.crop_jpeg
            self.encoding = encoding

    def decide_tier(self, matcher: Matcher) -> None:
        """A video or an animation: `match` when one track agrees over `track_min_frames` frames, or one frame is
        `strong_margin` below the person's `match` threshold; `possible` otherwise."""
        longest = max(self._track_frames.values(), key=len, default=[])
        strong = self.best_match_distance <= matcher.thresholds_of(self.person_id).match - matcher.strong_margin
        if len(longest) >= matcher.track_min_frames or strong:
            self.tier = MATCH
        self.track_timestamps = sorted(longest)
        self._track_frames = {}


@dataclass
class FileAnalysis:
    """What one file showed, in memory: its measures, every face found and, per matched person, the evidence. A
    scan answers with it; `watchers.analysis.analyse_media` stores it as a `MediaAnalysis` row and `Detection` rows.

    `kind` is photo, video or animation (an animated GIF, WebP or PNG); `truncated` says that frames were left out
    (the frame or time cap) or faces were (more in one frame than the face cap)."""

    kind: str
    sha256: str
    size: int
    width: int
    height: int
    duration: float | None = None
    frames_scanned: int = 1
    truncated: bool = False
    faces: list[FaceSighting] = field(default_factory=list)
    evidence: dict[uuid.UUID, PersonEvidence] = field(default_factory=dict)
    background: dict[uuid.UUID, dict[int, int]] = field(default_factory=dict)
    """Per enrolled person, how many faces not assigned to them fell in each distance bin: counts only."""

    @property
    def persons(self) -> list[PersonEvidence]:
        return sorted(self.evidence.values(), key=lambda evidence: evidence.best_distance)


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def analyse_file(
    path: Path,
    engine: FaceEngine,
    matcher: Matcher,
    sampling: FrameSampling,
    time_limit_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FileAnalysis:
    """Find faces and matches in a photo, an animation or a video, decided by the file's content, not its name.

    Raises `InputRejected` (empty, not an image or video, damaged, too large, too long, or analysed for longer than
    `time_limit_seconds` by `clock`) with a reason.
    """
    limit = TimeLimit(time_limit_seconds, clock) if time_limit_seconds is not None else None
    sniffed = media_types.sniff_file(path)
    if sniffed is not None and sniffed.is_video:
        video = SampledVideo(path, sampling, engine.options.max_image_pixels)
        analysis = FileAnalysis(
            kind="video",
            sha256=sha256_of_file(path),
            size=path.stat().st_size,
            width=video.info.width,
            height=video.info.height,
            duration=video.info.duration,
        )
        return _analyse_frames(analysis, video, engine, matcher, limit)
    if (sniffed is not None and sniffed.is_image) or path.stat().st_size == 0:
        return _analyse_image(path, engine, matcher, sampling, limit)  # an empty file is refused there, as `empty_file`
    raise InputRejected(
        "unsupported_media",
        f"the file is neither a photo ({', '.join(media_types.IMAGE_FORMATS)}) "
        f"nor a video ({', '.join(media_types.VIDEO_FORMATS)})",
    )


def _analyse_image(
    path: Path, engine: FaceEngine, matcher: Matcher, sampling: FrameSampling, limit: TimeLimit | None
) -> FileAnalysis:
    """A photo, or an animation (more than one frame of GIF, WebP or PNG), which is sampled like a video."""
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    animation = open_animation(data, engine.options.max_image_pixels)
    if animation is not None:
        frames = SampledAnimation(animation, sampling)
        analysis = FileAnalysis("animation", sha256, len(data), animation.width, animation.height)
        _analyse_frames(analysis, frames, engine, matcher, limit)
        analysis.duration = frames.info.duration
        return analysis
    rgb = decode_image(data, engine.options.max_image_pixels)
    analysis = FileAnalysis("photo", sha256, len(data), rgb.shape[1], rgb.shape[0])
    _analyse_pixels(analysis, rgb, None, engine, matcher, limit)
    return analysis


def _analyse_frames(
    analysis: FileAnalysis,
    source: SampledVideo | SampledAnimation,
    engine: FaceEngine,
    matcher: Matcher,
    limit: TimeLimit | None,
) -> FileAnalysis:
    tracks = _Tracks()
    frames_engine = engine.for_frames()
    for frame in source.frames():
        _analyse_pixels(analysis, frame.rgb, frame.timestamp, frames_engine, matcher, limit, tracks)
    analysis.frames_scanned = source.info.frames_sampled
    analysis.truncated = analysis.truncated or source.info.truncated
    for evidence in analysis.evidence.values():
        evidence.decide_tier(matcher)
    return analysis


class _Tracks:
    """Follows faces across the sampled frames of one file, in memory only: each face joins the track whose last
    face is nearest (within `TRACK_DISTANCE`, at most `TRACK_GAP_FRAMES` frames back), or starts a new one."""

    def __init__(self) -> None:
        self._last: list[tuple[np.ndarray, int]] = []
        self._frame = -1

    def next_frame(self) -> None:
        self._frame += 1

    def assign(self, encoding: np.ndarray, taken: set[int]) -> int:
        best, best_distance = None, TRACK_DISTANCE
        for track, (last, frame) in enumerate(self._last):
            if track in taken or frame >= self._frame or self._frame - frame > TRACK_GAP_FRAMES:
                continue
            distance = float(np.linalg.norm(last - encoding))
            if distance <= best_distance:
                best, best_distance = track, distance
        if best is None:
            self._last.append((encoding, self._frame))
            return len(self._last) - 1
        self._last[best] = (encoding, self._frame)
        return best


def _analyse_pixels(
    analysis: FileAnalysis,
    rgb: np.ndarray,
    timestamp: float | None,
    engine: FaceEngine,
    matcher: Matcher,
    limit: TimeLimit | None,
    tracks: _Tracks | None = None,
) -> None:
    """The faces of one photo or frame, recorded in `analysis`; `limit` is checked before the frame is searched and
    before each of its faces is encoded."""
    if limit is not None:
        limit.check()
    search = engine.search(rgb, limit.check if limit is not None else None)
    analysis.truncated = analysis.truncated or search.truncated
    if tracks is not None:
        tracks.next_frame()
    taken: set[int] = set()
    for face in search.faces:
        matches, distances = matcher.match_and_measure(face.encoding)
        crop = encode_jpeg(face_crop(rgb, face.box)) if matches else None
        track = tracks.assign(face.encoding, taken) if tracks is not None else None
        if track is not None:
            taken.add(track)
        _record(analysis, FaceSighting(face.box, timestamp, matches, crop, track), face.encoding)
        _count_background(analysis, matcher, distances, {match.person_id for match in matches})


def _count_background(analysis: FileAnalysis, matcher: Matcher, distances: np.ndarray, assigned: set) -> None:
    """The face's distance to every person it was not assigned to, as a count in that person's bin. One plain loop
    over Python ints (no numpy scalar per person): with 10,000 people it costs about a quarter of the former loop,
    which cost as much as the matching itself (`bench/accuracy.py`)."""
    if not len(distances):
        return
    bins = np.minimum(BINS - 1, (distances / BIN_WIDTH).astype(np.intp)).tolist()
    background = analysis.background
    for person_id, index in zip(matcher.person_ids, bins, strict=True):
        if person_id in assigned:
            continue
        person_bins = background.get(person_id)
        if person_bins is None:
            background[person_id] = {index: 1}
        else:
            person_bins[index] = person_bins.get(index, 0) + 1


def _record(analysis: FileAnalysis, sighting: FaceSighting, encoding: np.ndarray) -> None:
    analysis.faces.append(sighting)
    for match in sighting.matches:
        evidence = analysis.evidence.get(match.person_id)
        if evidence is None:
            evidence = PersonEvidence(
                match.person_id, np.inf, match.reference_id, sighting.box, sighting.timestamp, None
            )
            analysis.evidence[match.person_id] = evidence
        evidence.add(sighting, match, encoding)
