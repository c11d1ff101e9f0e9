"""Analysing one media file: frames, faces, matches, and per-person evidence across frames."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import media_types
from core.errors import InputRejected
from watchers.frames import FrameSampling, SampledVideo
from watchlist.engine import Box, FaceEngine, face_crop
from watchlist.images import decode_image, encode_jpeg
from watchlist.matcher import Match, Matcher

_HASH_CHUNK = 1024 * 1024


class AnalysisTimeout(InputRejected):
    @classmethod
    def after(cls, seconds: float) -> AnalysisTimeout:
        return cls("analysis_timeout", f"the analysis took longer than the limit of {seconds:g} s and was stopped")


@dataclass(frozen=True)
class TimeLimit:
    """A limit on one analysis, checked between frames (a single frame is bounded by the pixel limit)."""

    seconds: float
    started: float = field(default_factory=time.monotonic)

    def check(self) -> None:
        if time.monotonic() - self.started > self.seconds:
            raise AnalysisTimeout.after(self.seconds)


@dataclass(frozen=True)
class FaceSighting:
    """One face found in one frame (a photo has one frame, at timestamp None)."""

    box: Box
    timestamp: float | None
    matches: list[Match]
    crop_jpeg: bytes | None = None


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

    def add(self, sighting: FaceSighting, match: Match) -> None:
        if sighting.timestamp is not None and sighting.timestamp not in self.timestamps:
            self.timestamps.append(sighting.timestamp)
            self.frames_matched += 1
        if match.distance < self.best_distance:
            self.best_distance = match.distance
            self.reference_id = match.reference_id
            self.best_box = sighting.box
            self.best_timestamp = sighting.timestamp
            self.crop_jpeg = sighting.crop_jpeg


@dataclass
class FileAnalysis:
    """What one file showed, in memory: its measures, every face found and, per matched person, the evidence. A
    scan answers with it; `watchers.analysis.analyse_media` stores it as a `MediaAnalysis` row and `Detection` rows."""

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
) -> FileAnalysis:
    """Find faces and matches in a photo or a video, decided by the file's content, not its name.

    Raises `InputRejected` (empty, not an image or video, damaged, too large, too long, or analysed for longer than
    `time_limit_seconds`) with a reason.
    """
    sniffed = media_types.sniff_file(path)
    if sniffed is not None and sniffed.is_video:
        limit = TimeLimit(time_limit_seconds) if time_limit_seconds is not None else None
        return _analyse_video(path, engine, matcher, sampling, limit)
    if (sniffed is not None and sniffed.is_image) or path.stat().st_size == 0:
        return _analyse_photo(path, engine, matcher)  # an empty file is refused there, as `empty_file`
    raise InputRejected(
        "unsupported_media",
        f"the file is neither a photo ({', '.join(media_types.IMAGE_FORMATS)}) "
        f"nor a video ({', '.join(media_types.VIDEO_FORMATS)})",
    )


def _analyse_photo(path: Path, engine: FaceEngine, matcher: Matcher) -> FileAnalysis:
    data = path.read_bytes()
    rgb = decode_image(data, engine.options.max_image_pixels)
    analysis = FileAnalysis(
        kind="photo", sha256=hashlib.sha256(data).hexdigest(), size=len(data), width=rgb.shape[1], height=rgb.shape[0]
    )
    _record(analysis, _sightings(rgb, None, engine, matcher))
    return analysis


def _analyse_video(
    path: Path, engine: FaceEngine, matcher: Matcher, sampling: FrameSampling, limit: TimeLimit | None
) -> FileAnalysis:
    video = SampledVideo(path, sampling)
    analysis = FileAnalysis(
        kind="video",
        sha256=sha256_of_file(path),
        size=path.stat().st_size,
        width=video.info.width,
        height=video.info.height,
        duration=video.info.duration,
    )
    for frame in video.frames():
        if limit is not None:
            limit.check()
        _record(analysis, _sightings(frame.rgb, frame.timestamp, engine, matcher))
    analysis.frames_scanned = video.info.frames_sampled
    analysis.truncated = video.info.truncated
    return analysis


def _sightings(
    rgb: np.ndarray, timestamp: float | None, engine: FaceEngine, matcher: Matcher
) -> Iterator[FaceSighting]:
    for face in engine.find_faces(rgb):
        matches = matcher.match(face.encoding)
        crop = encode_jpeg(face_crop(rgb, face.box)) if matches else None
        yield FaceSighting(face.box, timestamp, matches, crop)


def _record(analysis: FileAnalysis, sightings: Iterator[FaceSighting]) -> None:
    for sighting in sightings:
        analysis.faces.append(sighting)
        for match in sighting.matches:
            evidence = analysis.evidence.get(match.person_id)
            if evidence is None:
                evidence = PersonEvidence(
                    match.person_id, np.inf, match.reference_id, sighting.box, sighting.timestamp, None
                )
                analysis.evidence[match.person_id] = evidence
            evidence.add(sighting, match)
