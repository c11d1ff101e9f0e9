from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlmodel import Session

from app.runtime import Runtime
from core.scope import INSTALLATION
from tests.factories import enrol_person, faceless_photo, png_bytes, small_face_photo
from tests.support import fixture_bytes, fixture_path
from watchers.frames import FrameSampling
from watchers.scanning import analyse_file
from watchlist import service
from watchlist.quality import EnrolmentRefused
from watchlist.schemas import PersonCreate

ENROLMENT_PHOTO = {
    "Barack Obama": "obama.jpg",
    "Joe Biden": "biden.jpg",
    "Kit Harington": "kit1.jpg",
    "Rose Leslie": "rose1.jpg",
    "Lin-Manuel Miranda": "lmm1.png",
}
EXPECTED_IN = {
    "obama2.jpg": {"Barack Obama"},
    "obama4.jpg": {"Barack Obama"},
    "obama_small.jpg": {"Barack Obama"},
    "obama-480p.jpg": {"Barack Obama"},
    "32bit.png": {"Barack Obama"},
    "biden2.jpg": {"Joe Biden"},
    "kit2.jpg": {"Kit Harington"},
    "kit3.jpg": {"Kit Harington"},
    "rose2.jpg": {"Rose Leslie"},
    "two_people.jpg": {"Barack Obama", "Joe Biden"},
    "obama_and_biden.jpg": {"Barack Obama", "Joe Biden"},
    "kit_with_rose.jpg": {"Kit Harington", "Rose Leslie"},
    "alex2.jpg": set(),
}


def test_people_enrolled_from_one_photo_are_found_in_their_other_photos_and_nobody_else_is(runtime: Runtime) -> None:
    ids = {enrol_person(runtime, name, photo).id: name for name, photo in ENROLMENT_PHOTO.items()}
    with Session(runtime.db_engine) as session:
        matcher = runtime.matchers.get(session)
    assert matcher.size == len(ENROLMENT_PHOTO)
    for photo, expected in EXPECTED_IN.items():
        analysis = analyse_file(fixture_path(photo), runtime.face_engine, matcher, FrameSampling())
        found = {ids[evidence.person_id] for evidence in analysis.persons}
        assert found == expected, photo
        for face in analysis.faces:
            assert len(face.matches) <= 1, f"one face matched several people in {photo}"


def test_unknown_third_face_in_group_photo_matches_nobody(runtime: Runtime) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    enrol_person(runtime, "Joe Biden", "biden.jpg")
    with Session(runtime.db_engine) as session:
        matcher = runtime.matchers.get(session)
    analysis = analyse_file(fixture_path("obama_and_biden.jpg"), runtime.face_engine, matcher, FrameSampling())
    assert len(analysis.faces) == 3
    assert sum(1 for face in analysis.faces if not face.matches) == 1


@pytest.mark.parametrize(
    ("photo", "code"),
    [("two_people.jpg", "multiple_faces"), (None, "no_face")],
    ids=["two-faces", "no-face"],
)
def test_enrolment_refuses_unsuitable_photos_and_stores_nothing(runtime: Runtime, photo: str | None, code: str) -> None:
    data = fixture_bytes(photo) if photo else faceless_photo()
    with Session(runtime.db_engine) as session:
        person = service.create_person(session, PersonCreate(display_name="Someone"))
        with pytest.raises(EnrolmentRefused) as refused:
            service.enrol_face(session, person, data, runtime.face_engine, runtime.enrolment_policy)
        assert refused.value.code == code
        assert service.list_reference_faces(session, person) == []


def test_a_photo_with_small_faces_in_the_background_enrols_its_one_large_face(runtime: Runtime) -> None:
    """Faces too small to enrol (CenterFace finds people far behind) do not make a portrait a group photo."""
    portrait = Image.open(fixture_path("obama.jpg")).convert("RGB")
    small, where = small_face_photo(30)
    portrait.paste(Image.fromarray(small).crop((where.left - 60, where.top - 60, where.right + 60, where.bottom + 60)))
    data = png_bytes(np.asarray(portrait))
    assert len(runtime.face_engine.find_faces(np.asarray(portrait))) == 2
    with Session(runtime.db_engine) as session:
        person = service.create_person(session, PersonCreate(display_name="Barack Obama"))
        face = service.enrol_face(session, person, data, runtime.face_engine, runtime.enrolment_policy)
        assert face.box_left > 200


def test_caller_picks_one_face_of_a_group_photo(runtime: Runtime) -> None:
    with Session(runtime.db_engine) as session:
        person = service.create_person(session, PersonCreate(display_name="Joe Biden"))
        data = fixture_bytes("two_people.jpg")
        faces = [
            service.enrol_face(session, person, data, runtime.face_engine, runtime.enrolment_policy, face_index=i)
            for i in (0, 1)
        ]
        assert faces[0].box_left < faces[1].box_left
        with pytest.raises(EnrolmentRefused) as refused:
            service.enrol_face(session, person, data, runtime.face_engine, runtime.enrolment_policy, face_index=2)
        assert refused.value.code == "bad_face_index"


def test_too_small_and_too_blurry_faces_are_refused(runtime: Runtime) -> None:
    from dataclasses import replace

    from watchlist.quality import QualityGates

    with Session(runtime.db_engine) as session:
        person = service.create_person(session, PersonCreate(display_name="Barack Obama"))
        strict_size = replace(runtime.enrolment_policy, gates=QualityGates(min_face_pixels=200))
        with pytest.raises(EnrolmentRefused, match="pixels") as too_small:
            service.enrol_face(session, person, fixture_bytes("obama_small.jpg"), runtime.face_engine, strict_size)
        assert too_small.value.code == "face_too_small"
        strict_blur = replace(runtime.enrolment_policy, gates=QualityGates(min_sharpness=10_000))
        with pytest.raises(EnrolmentRefused) as blurry:
            service.enrol_face(session, person, fixture_bytes("obama.jpg"), runtime.face_engine, strict_blur)
        assert blurry.value.code == "too_blurry"


def test_the_same_photo_twice_is_a_conflict(runtime: Runtime) -> None:
    person = enrol_person(runtime, "Barack Obama", "obama.jpg")
    with Session(runtime.db_engine) as session, pytest.raises(service.DuplicateReference):
        service.enrol_face(
            session, session.merge(person), fixture_bytes("obama.jpg"), runtime.face_engine, runtime.enrolment_policy
        )


def test_matcher_is_rebuilt_when_the_watchlist_changes(runtime: Runtime) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    with Session(runtime.db_engine) as session:
        first = runtime.matchers.get(session)
        assert runtime.matchers.get(session) is first
    enrol_person(runtime, "Joe Biden", "biden.jpg")
    with Session(runtime.db_engine) as session:
        second = runtime.matchers.get(session)
        assert second is not first and second.size == 2
        service.delete_person(session, service.get_person(session, obama.id))
        session.commit()
        assert runtime.matchers.get(session).size == 1


def test_deleting_a_person_removes_their_reference_faces(runtime: Runtime) -> None:
    person = enrol_person(runtime, "Barack Obama", "obama.jpg", "obama2.jpg")
    with Session(runtime.db_engine) as session:
        removed = service.delete_person(session, service.get_person(session, person.id))
        session.commit()
        assert removed == 2
        assert service.reference_face_counts(session, [person.id]) == {}
        with pytest.raises(service.NotFound):
            service.get_person(session, person.id)


def photo(name: str, data: bytes) -> service.EnrolmentPhoto:
    return service.EnrolmentPhoto(name, lambda: data)


def test_several_photos_enrol_the_usable_ones_and_say_why_the_others_were_refused(
    runtime: Runtime, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.jpg"
    photos = [
        photo("obama.jpg", fixture_bytes("obama.jpg")),
        photo("group.jpg", fixture_bytes("two_people.jpg")),
        service.EnrolmentPhoto(str(missing), missing.read_bytes),
        photo("gradient.png", faceless_photo()),
        photo("obama-again.jpg", fixture_bytes("obama.jpg")),
        photo("obama2.jpg", fixture_bytes("obama2.jpg")),
    ]
    with Session(runtime.db_engine) as session:
        person = service.create_person(session, PersonCreate(display_name="Barack Obama"))
        outcome = service.enrol_faces(session, person, photos, runtime.face_engine, runtime.enrolment_policy)
        session.commit()
        assert [(refused.name, refused.code) for refused in outcome.refused] == [
            ("group.jpg", "multiple_faces"),
            (str(missing), "unreadable"),
            ("gradient.png", "no_face"),
            ("obama-again.jpg", "duplicate_reference"),
        ]
        assert len(outcome.faces) == 2
        assert {face.id for face in service.list_reference_faces(session, person)} == {f.id for f in outcome.faces}


def test_a_person_with_no_usable_photo_is_not_kept_even_when_the_caller_commits(runtime: Runtime) -> None:
    with Session(runtime.db_engine) as session:
        with pytest.raises(service.NoUsablePhoto) as refused:
            service.create_enrolled_person(
                session,
                PersonCreate(display_name="Nobody"),
                INSTALLATION,
                [photo("gradient.png", faceless_photo())],
                runtime.face_engine,
                runtime.enrolment_policy,
            )
        assert refused.value.code == "no_usable_photo" and "gradient.png" in refused.value.message
        assert [photo.code for photo in refused.value.refused] == ["no_face"]
        session.commit()
        assert service.list_persons(session) == []

        person, outcome = service.create_enrolled_person(
            session,
            PersonCreate(display_name="Barack Obama"),
            INSTALLATION,
            [photo("obama.jpg", fixture_bytes("obama.jpg")), photo("gradient.png", faceless_photo())],
            runtime.face_engine,
            runtime.enrolment_policy,
        )
        session.commit()
        assert len(outcome.faces) == 1 and [photo.code for photo in outcome.refused] == ["no_face"]
        assert [stored.id for stored in service.list_persons(session)] == [person.id]
