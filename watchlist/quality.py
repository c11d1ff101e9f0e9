"""Enrolment quality gates: a reference face must be one clear, large enough face, or the photo is refused."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.errors import InputRejected
from watchlist.engine import Box, FoundFace

_SHARPNESS_SIDE = 128


@dataclass(frozen=True)
class QualityGates:
    min_face_pixels: int = 60
    min_sharpness: float = 25.0


@dataclass(frozen=True)
class FaceQuality:
    face_width: int
    face_height: int
    sharpness: float


class EnrolmentRefused(InputRejected):
    """A photo that cannot serve as a reference face."""


def sharpness(rgb: np.ndarray, box: Box) -> float:
    """Variance of the Laplacian of the face, resized to a fixed size so the measure does not depend on scale."""
    face = rgb[box.top : box.bottom, box.left : box.right]
    gray = np.asarray(
        Image.fromarray(face).convert("L").resize((_SHARPNESS_SIDE, _SHARPNESS_SIDE), Image.Resampling.BILINEAR),
        dtype=np.float32,
    )
    laplacian = gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:] - 4 * gray[1:-1, 1:-1]
    return float(laplacian.var())


def choose_reference_face(faces: list[FoundFace], face_index: int | None, min_face_pixels: int = 0) -> FoundFace:
    """The one face to enrol: the only face, the one the caller picked when the photo has several, or the only one
    of at least `min_face_pixels` a side (the others could not be enrolled: CenterFace finds the small faces of
    people in the background that HOG did not)."""
    if not faces:
        raise EnrolmentRefused("no_face", "no face was found in the photo")
    if face_index is not None:
        if not 0 <= face_index < len(faces):
            raise EnrolmentRefused(
                "bad_face_index", f"face_index {face_index} is out of range: the photo has {len(faces)} face(s)"
            )
        return faces[face_index]
    large = [face for face in faces if min(face.box.width, face.box.height) >= min_face_pixels]
    if len(faces) > 1 and len(large) == 1:
        return large[0]
    if len(faces) > 1:
        raise EnrolmentRefused(
            "multiple_faces",
            f"the photo has {len(faces)} faces; pick one with face_index (0-{len(faces) - 1}, left to right)",
        )
    return faces[0]


def check_quality(rgb: np.ndarray, face: FoundFace, gates: QualityGates) -> FaceQuality:
    quality = FaceQuality(face.box.width, face.box.height, sharpness(rgb, face.box))
    if min(quality.face_width, quality.face_height) < gates.min_face_pixels:
        raise EnrolmentRefused(
            "face_too_small",
            f"the face is {quality.face_width}x{quality.face_height} pixels; at least "
            f"{gates.min_face_pixels} pixels a side are needed",
        )
    if quality.sharpness < gates.min_sharpness:
        raise EnrolmentRefused(
            "too_blurry",
            f"the face is too blurry (sharpness {quality.sharpness:.1f}, at least {gates.min_sharpness:.1f} needed)",
        )
    return quality
