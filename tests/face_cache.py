"""The face engine's work memoised for one test module, for modules whose tests are not about the analysis.

Enrolling obama.jpg, or finding Obama in a photo posted on a watched channel, costs dlib half a second or more, and a
module about alerts or webhooks does it in almost every test, on SQLite and again on PostgreSQL. A module opts in
with `pytestmark = pytest.mark.usefixtures("cached_faces")` (the fixture is in tests/conftest.py): for the rest of
the module, `FaceEngine.detect` and `FaceEngine.encode` remember their answer for the same pixels (by content hash)
and the same engine options, in every engine of this process. The first time the module sees an image, its faces are
found by face_recognition for real; later tests get that same answer. Face workers in other processes are not
affected, and the modules that test the analysis itself (the engine, scanning, frames, workers) do not opt in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from watchlist.engine import Box, EngineOptions, FaceEngine

PixelsKey = tuple[str, tuple[int, ...], str]
Detect = Callable[[FaceEngine, np.ndarray], list[Box]]
Encode = Callable[[FaceEngine, np.ndarray, list[Box]], list[np.ndarray]]


def pixels_key(rgb: np.ndarray) -> PixelsKey:
    """The content of an image: a hash of its pixels with their shape and type."""
    return hashlib.sha256(np.ascontiguousarray(rgb).data).hexdigest(), rgb.shape, rgb.dtype.str


class FaceCache:
    """What the engine answered, by engine options and pixels; `real_calls` counts the questions dlib answered."""

    def __init__(self) -> None:
        self._boxes: dict[tuple[EngineOptions, PixelsKey], list[Box]] = {}
        self._encodings: dict[tuple[EngineOptions, PixelsKey, tuple[Box, ...]], list[np.ndarray]] = {}
        self.real_calls = 0

    def detect(self, real: Detect) -> Detect:
        def detect(engine: FaceEngine, rgb: np.ndarray) -> list[Box]:
            key = (engine.options, pixels_key(rgb))
            if key not in self._boxes:
                self.real_calls += 1
                self._boxes[key] = real(engine, rgb)
            return list(self._boxes[key])

        return detect

    def encode(self, real: Encode) -> Encode:
        def encode(engine: FaceEngine, rgb: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
            key = (engine.options, pixels_key(rgb), tuple(boxes))
            if key not in self._encodings:
                self.real_calls += 1
                self._encodings[key] = real(engine, rgb, boxes)
            return [encoding.copy() for encoding in self._encodings[key]]

        return encode


@contextmanager
def faces_cached() -> Iterator[FaceCache]:
    """Every FaceEngine of this process memoises its detections and encodings until the block ends."""
    cache = FaceCache()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FaceEngine, "detect", cache.detect(FaceEngine.detect))
        patch.setattr(FaceEngine, "encode", cache.encode(FaceEngine.encode))
        yield cache
