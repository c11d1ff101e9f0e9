import numpy as np
import pytest

from tests.support import fixture_bytes
from watchlist.engine import EngineOptions, FaceEngine
from watchlist.images import decode_image


def faces_in(name: str, engine: FaceEngine | None = None) -> list:
    return (engine or FaceEngine()).find_faces(decode_image(fixture_bytes(name), 50_000_000))


@pytest.mark.parametrize(("name", "count"), [("obama.jpg", 1), ("two_people.jpg", 2), ("obama_and_biden.jpg", 3)])
def test_finds_every_face(name: str, count: int) -> None:
    assert len(faces_in(name)) == count


def test_boxes_are_in_original_pixels_when_detection_was_downscaled() -> None:
    """dlib's detector (CenterFace's scale is `centerface_side`, tests/watchlist/test_centerface.py)."""
    full = faces_in("obama_and_biden.jpg", FaceEngine(EngineOptions(face_detector="hog", detection_max_side=4000)))
    scaled = faces_in("obama_and_biden.jpg", FaceEngine(EngineOptions(face_detector="hog", detection_max_side=800)))
    assert len(full) == len(scaled) == 3
    for a, b in zip(sorted(full, key=lambda f: f.box.left), sorted(scaled, key=lambda f: f.box.left), strict=True):
        assert abs(a.box.left - b.box.left) < 0.15 * a.box.width
        assert abs(a.box.width - b.box.width) < 0.3 * a.box.width
        assert np.linalg.norm(a.encoding - b.encoding) < 0.25


def test_small_image_face_is_found() -> None:
    faces = faces_in("obama_small.jpg")
    assert len(faces) == 1
    assert faces[0].encoding.shape == (128,)
    assert faces[0].encoding.dtype == np.float32


def test_same_person_is_near_and_different_people_are_far() -> None:
    obama, obama2, biden = (faces_in(name)[0].encoding for name in ("obama.jpg", "obama2.jpg", "biden.jpg"))
    assert np.linalg.norm(obama - obama2) < 0.5
    assert np.linalg.norm(obama - biden) > 0.6
