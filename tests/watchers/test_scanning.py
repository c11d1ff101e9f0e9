"""Analysing one file (`watchers.scanning.analyse_file`) with real faces: videos timed from their first frame,
animations sampled like videos, frames held to the pixel limit, and photos held to the face cap and the time limit."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from core.errors import InputRejected
from tests.factories import (
    animation_bytes,
    face_clip,
    face_mosaic,
    faceless_photo,
    fixture_rgb,
    pixel_bomb_video,
)
from tests.support import fixture_bytes
from watchers.frames import FrameSampling
from watchers.scanning import AnalysisTimeout, FileAnalysis, analyse_file
from watchlist.calibration import Thresholds
from watchlist.engine import EngineOptions, FaceEngine
from watchlist.images import decode_image
from watchlist.matcher import Matcher, Reference

OBAMA = uuid.uuid4()
FOUR_FACES = (("obama_small.jpg", 1.0), ("obama_small.jpg", 1.5), ("obama_small.jpg", 1.0), ("obama_small.jpg", 2.0))
"""The same face four times, 111, 161, 111 and 232 pixels wide."""


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine()


@pytest.fixture(scope="module")
def obama(engine: FaceEngine) -> Matcher:
    """Barack Obama enrolled from obama2.jpg (the media below show obama.jpg)."""
    [face] = engine.find_faces(decode_image(fixture_bytes("obama2.jpg"), 50_000_000))
    return Matcher([Reference(uuid.uuid4(), OBAMA, face.encoding)], {OBAMA: 0.5})


def analyse(path: Path, engine: FaceEngine, matcher: Matcher) -> FileAnalysis:
    return analyse_file(path, engine, matcher, FrameSampling())


def analyse_in_time(
    path: Path, engine: FaceEngine, matcher: Matcher, seconds: float, clock: Callable[[], float]
) -> FileAnalysis:
    return analyse_file(path, engine, matcher, FrameSampling(), time_limit_seconds=seconds, clock=clock)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(("container", "codec"), [("mp4", "mpeg4"), ("matroska", "mpeg4"), ("webm", "libvpx")])
def test_a_clip_whose_timestamps_start_late_is_scanned_from_its_first_frame(
    tmp_path: Path, engine: FaceEngine, obama: Matcher, container: str, codec: str
) -> None:
    """A 10 s clip with a face in every frame, its timestamps starting at 2000 s, answers as if they started at 0
    (it used to be scanned with no frame at all, or refused as lasting 2010 s)."""
    late = analyse(face_clip(tmp_path / "late.bin", container, codec, start_seconds=2000), engine, obama)

    assert late.kind == "video" and (late.frames_scanned, late.truncated) == (10, False)
    assert late.duration == pytest.approx(10, abs=0.5)
    [seen] = late.persons
    assert seen.person_id == OBAMA and seen.frames_matched == 10
    assert seen.timestamps == pytest.approx(list(range(10)))


def test_a_video_whose_rows_are_padded_is_analysed(tmp_path: Path, engine: FaceEngine, obama: Matcher) -> None:
    """A frame 454 pixels wide comes from PyAV with its rows padded (not contiguous), which dlib's encoder refused."""
    analysis = analyse(face_clip(tmp_path / "clip.mp4", "mp4", "mpeg4", seconds=1), engine, obama)
    assert analysis.width == 454
    assert [seen.person_id for seen in analysis.persons] == [OBAMA]


@pytest.mark.parametrize("image_format", ["GIF", "WEBP", "PNG"])
def test_a_face_in_a_later_frame_of_an_animation_is_found(
    tmp_path: Path, engine: FaceEngine, obama: Matcher, image_format: str
) -> None:
    """Frame 1 has no face, frame 2 (one second in) is obama.jpg: sampled like a video, not read as its first frame."""
    face = fixture_rgb("obama.jpg", 0.5)
    nothing = np.full_like(face, 150)
    data = animation_bytes(image_format, [nothing, face, nothing], duration_ms=1000)

    analysis = analyse(write(tmp_path / "loop.bin", data), engine, obama)

    assert analysis.kind == "animation"
    assert (analysis.width, analysis.height) == (face.shape[1], face.shape[0])
    assert (analysis.frames_scanned, analysis.truncated, analysis.duration) == (3, False, 3.0)
    [seen] = analysis.persons
    assert seen.person_id == OBAMA and seen.timestamps == [1.0] and seen.best_timestamp == 1.0


def test_an_animation_is_held_to_the_frame_cap(tmp_path: Path, engine: FaceEngine, obama: Matcher) -> None:
    frames = [np.full((48, 64, 3), shade, np.uint8) for shade in (40, 80, 120, 160)]
    path = write(tmp_path / "loop.gif", animation_bytes("GIF", frames, duration_ms=1000))

    analysis = analyse_file(path, engine, obama, FrameSampling(max_frames=2))

    assert (analysis.kind, analysis.frames_scanned, analysis.truncated) == ("animation", 2, True)


def test_a_single_frame_gif_is_a_photo(tmp_path: Path, engine: FaceEngine, obama: Matcher) -> None:
    data = animation_bytes("GIF", [fixture_rgb("obama.jpg", 0.5)])
    analysis = analyse(write(tmp_path / "still.gif", data), engine, obama)
    assert (analysis.kind, analysis.frames_scanned) == ("photo", 1)
    assert [seen.person_id for seen in analysis.persons] == [OBAMA]


def test_a_video_of_frames_over_the_pixel_limit_is_refused(tmp_path: Path, obama: Matcher) -> None:
    """The image limit holds for video frames: a 2000x2000 video of a few kilobytes is refused under a limit of
    a million pixels, before a frame is decoded."""
    bomb = pixel_bomb_video(tmp_path / "bomb.mov", 2000)
    with pytest.raises(InputRejected) as refused:
        analyse(bomb, FaceEngine(EngineOptions(max_image_pixels=1_000_000)), obama)
    assert refused.value.code == "video_frame_too_large" and "2000x2000" in refused.value.message


def test_faces_per_image_are_capped_largest_first(tmp_path: Path, obama: Matcher) -> None:
    mosaic = write(tmp_path / "mosaic.png", face_mosaic(*FOUR_FACES, columns=2))

    capped = analyse(mosaic, FaceEngine(EngineOptions(max_faces=2)), obama)
    every = analyse(mosaic, FaceEngine(EngineOptions(max_faces=4)), obama)

    assert capped.truncated and len(capped.faces) == 2
    assert sorted(face.box.width for face in capped.faces) == sorted(face.box.width for face in every.faces)[2:]
    assert all(face.matches for face in capped.faces), "the faces kept are encoded and matched"
    assert not every.truncated and len(every.faces) == 4


def ticking_clock(step: float = 1.0) -> Callable[[], float]:
    """A monotonic clock that moves on `step` seconds each time it is read."""
    readings = itertools.count()
    return lambda: next(readings) * step


def test_a_photo_analysis_is_stopped_between_faces(tmp_path: Path, engine: FaceEngine, obama: Matcher) -> None:
    """Four faces, a clock that moves a second each time it is read, a limit of 2.5 s: refused before the last face
    is encoded. With a limit it stays within, the same photo is analysed."""
    mosaic = write(tmp_path / "mosaic.png", face_mosaic(*FOUR_FACES, columns=2))
    clock = ticking_clock()

    with pytest.raises(AnalysisTimeout) as refused:
        analyse_in_time(mosaic, engine, obama, 2.5, clock)

    assert refused.value.code == "analysis_timeout" and "2.5 s" in refused.value.message
    assert clock() < 6, "stopped between faces, not after the last one"
    assert len(analyse_in_time(mosaic, engine, obama, 100, ticking_clock()).faces) == 4


def test_a_photo_within_the_limit_is_analysed(tmp_path: Path, engine: FaceEngine, obama: Matcher) -> None:
    photo = write(tmp_path / "nothing.png", faceless_photo())
    analysis = analyse_in_time(photo, engine, obama, 100, ticking_clock())
    assert (analysis.kind, analysis.faces, analysis.truncated) == ("photo", [], False)


def lin_manuel(engine: FaceEngine, **decision: float) -> tuple[uuid.UUID, Matcher]:
    person = uuid.uuid4()
    [face] = engine.find_faces(decode_image(fixture_bytes("lmm1.png"), 50_000_000))
    thresholds = Thresholds(0.47, 0.6)  # two frames within it whichever detector boxed them (0.45 left one at 0.454)
    return person, Matcher([Reference(uuid.uuid4(), person, face.encoding)], {person: thresholds}, **decision)


def test_a_track_of_several_frames_decides_a_video(engine: FaceEngine, tmp_path: Path) -> None:
    clip = write(tmp_path / "clip.mp4", fixture_bytes("short_hamilton_clip.mp4"))
    person, matcher = lin_manuel(engine, track_min_frames=2, strong_margin=1.0)

    [found] = analyse(clip, engine, matcher).persons

    assert found.person_id == person and found.tier == "match"
    assert len(found.track_timestamps) >= 2 and set(found.track_timestamps) <= set(found.timestamps)
    tracks = {face.track for face in analyse(clip, engine, matcher).faces if face.matches}
    assert None not in tracks

    _, unconvinced = lin_manuel(engine, track_min_frames=100, strong_margin=1.0)
    [alone] = analyse(clip, engine, unconvinced).persons
    assert alone.tier == "possible", "no track long enough and no frame far below the threshold"
    _, one_frame = lin_manuel(engine, track_min_frames=100, strong_margin=0.0)
    assert [found.tier for found in analyse(clip, engine, one_frame).persons] == ["match"]


def test_every_face_counts_for_the_people_it_was_not_assigned_to(tmp_path: Path, engine: FaceEngine) -> None:
    """obama_and_biden.jpg (Obama, Biden and a third man) against Obama and Biden enrolled from other photos: the two
    of them are assigned to themselves, so each counts the two other faces, each at its distance's bin."""
    from watchlist.calibration import bin_of

    photos = {"obama": "obama2.jpg", "biden": "biden.jpg"}
    people = {name: uuid.uuid4() for name in photos}
    references = []
    for name, photo in photos.items():
        [face] = engine.find_faces(decode_image(fixture_bytes(photo), 50_000_000))
        references.append(Reference(uuid.uuid4(), people[name], face.encoding))
    matcher = Matcher(references, dict.fromkeys(people.values(), 0.5))
    analysis = analyse(write(tmp_path / "group.jpg", fixture_bytes("obama_and_biden.jpg")), engine, matcher)
    assert len(analysis.faces) == 3
    assert {evidence.person_id for evidence in analysis.persons} == set(people.values())
    pixels = decode_image(fixture_bytes("obama_and_biden.jpg"), 50_000_000)
    for group, person in enumerate(matcher.person_ids):
        others = [face for face in analysis.faces if person not in {match.person_id for match in face.matches}]
        expected: dict[int, int] = {}
        for sighting in others:
            [encoding] = engine.encode(pixels, [sighting.box])
            index = bin_of(float(matcher.person_distances(encoding)[group]))
            expected[index] = expected.get(index, 0) + 1
        assert len(others) == 2
        assert analysis.background[person] == expected
