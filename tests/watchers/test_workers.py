"""The face worker pool: an analysis past its time limit is stopped with a reason, in the calling thread and in
worker processes, and a stuck worker is killed and replaced so the next file is analysed."""

from __future__ import annotations

import pytest

from tests.support import fixture_path
from watchers.frames import FrameSampling
from watchers.scanning import AnalysisTimeout
from watchers.workers import FaceWorkers
from watchlist.engine import EngineOptions
from watchlist.matcher import Matcher

CLIP = fixture_path("short_hamilton_clip.mp4")


@pytest.fixture
def nobody() -> Matcher:
    return Matcher([], {})


def test_a_video_analysed_past_the_limit_is_stopped_between_frames(nobody: Matcher) -> None:
    workers = FaceWorkers(EngineOptions(), FrameSampling(fps=4.0), processes=0, time_limit_seconds=0.5)
    with pytest.raises(AnalysisTimeout) as refused:
        workers.analyse(CLIP, nobody)
    assert refused.value.code == "analysis_timeout" and "0.5 s" in refused.value.message
    workers.time_limit_seconds = 600
    assert workers.analyse(fixture_path("obama.jpg"), nobody).faces, "the next file is analysed"


def test_a_photo_is_held_to_the_limit_too(nobody: Matcher) -> None:
    """A microsecond, on the real clock: decoding and detecting the faces of a photo take longer."""
    workers = FaceWorkers(EngineOptions(), FrameSampling(), processes=0, time_limit_seconds=1e-6)
    with pytest.raises(AnalysisTimeout):
        workers.analyse(fixture_path("obama.jpg"), nobody)


def test_a_worker_that_does_not_answer_in_time_is_killed_and_replaced(nobody: Matcher) -> None:
    """The watchdog fires before the worker has even started (spawning one takes seconds); the pool is rebuilt."""
    workers = FaceWorkers(
        EngineOptions(), FrameSampling(), processes=1, time_limit_seconds=0.2, watchdog_grace_seconds=0.0
    )
    try:
        with pytest.raises(AnalysisTimeout):
            workers.analyse(CLIP, nobody)
        workers.time_limit_seconds, workers.watchdog_grace_seconds = 600.0, 600.0  # a photo is held to it too
        assert workers.analyse(fixture_path("obama.jpg"), nobody).faces, "a new pool serves the next file"
    finally:
        workers.close()
