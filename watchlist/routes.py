"""HTTP routes for people and their reference faces. Thin: parse, call the service, commit, shape the answer."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile, status

from core.http import REFUSALS, OffsetQuery, ScopeDep, SessionDep, api_router, read_upload
from core.schemas import PlainText, Refusal
from watchlist import service
from watchlist.calibration import Thresholds
from watchlist.engine import FaceEngine
from watchlist.models import Person, ReferenceFace
from watchlist.schemas import (
    CalibrationRead,
    FaceBox,
    NegativeFaceRead,
    PersonCreate,
    PersonRead,
    PersonUpdate,
    ReferenceFaceEnrolled,
    ReferenceFaceRead,
)
from watchlist.service import EnrolmentPolicy

router = api_router(prefix="/v1/persons", tags=["persons"])


def get_face_engine(request: Request) -> FaceEngine:
    return request.app.state.face_engine


def get_enrolment_policy(request: Request) -> EnrolmentPolicy:
    return request.app.state.enrolment_policy


FaceEngineDep = Annotated[FaceEngine, Depends(get_face_engine)]


def person_read(person: Person, faces: int) -> PersonRead:
    return PersonRead.model_validate(person).model_copy(update={"reference_faces": faces})


def face_read(face: ReferenceFace) -> ReferenceFaceRead:
    box = FaceBox(top=face.box_top, right=face.box_right, bottom=face.box_bottom, left=face.box_left)
    return ReferenceFaceRead(**face.model_dump(exclude={"encoding", "crop_jpeg"}), box=box)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonRead, responses=REFUSALS)
def create_person(data: PersonCreate, session: SessionDep, scope: ScopeDep, request: Request) -> PersonRead:
    """A new person. Refused (422) with `bad_phone_number` for a phone number that is not one, `bad_website` for a
    website without a registrable domain."""
    person = service.create_person(session, data, scope, phone_region=request.app.state.settings.phone_region)
    session.commit()
    return person_read(person, 0)


@router.get("", response_model=list[PersonRead])
def list_persons(
    session: SessionDep,
    scope: ScopeDep,
    q: Annotated[PlainText | None, Query(max_length=200, description="Part of the display name")] = None,
    offset: OffsetQuery = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PersonRead]:
    persons = service.list_persons(session, offset=offset, limit=limit, query=q, scope=scope)
    counts = service.reference_face_counts(session, [person.id for person in persons])
    return [person_read(person, counts.get(person.id, 0)) for person in persons]


@router.get("/{person_id}", response_model=PersonRead, responses=REFUSALS)
def get_person(person_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> PersonRead:
    person = service.get_person(session, person_id, scope)
    return person_read(person, service.reference_face_counts(session, [person.id]).get(person.id, 0))


@router.patch("/{person_id}", response_model=PersonRead, responses=REFUSALS)
def update_person(
    person_id: uuid.UUID, data: PersonUpdate, session: SessionDep, scope: ScopeDep, request: Request
) -> PersonRead:
    """Change the fields given; numbers and websites are checked as on creation."""
    region = request.app.state.settings.phone_region
    person = service.update_person(session, service.get_person(session, person_id, scope), data, phone_region=region)
    session.commit()
    return person_read(person, service.reference_face_counts(session, [person.id]).get(person.id, 0))


@router.post(
    "/{person_id}/faces",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferenceFaceEnrolled,
    responses={**REFUSALS, 409: {"model": Refusal}, 413: {"model": Refusal}},
)
def add_reference_face(
    request: Request,
    person_id: uuid.UUID,
    session: SessionDep,
    scope: ScopeDep,
    engine: FaceEngineDep,
    photo: Annotated[UploadFile, File(description="A photo with the person's face (JPEG, PNG, WebP)")],
    face_index: Annotated[int | None, Form(ge=0, description="Which face, left to right, when several")] = None,
) -> ReferenceFaceEnrolled:
    """Enrol a reference face. Refused (422, with a `code`) when the photo has no face, several faces and no
    `face_index`, a face that is too small or too blurry, or is not a readable image. The answer says how far the
    face lies from the person's other references, and warns when it looks like somebody else."""
    person = service.get_person(session, person_id, scope)
    data = read_upload(photo, request.app.state.settings.max_upload_bytes)
    policy = get_enrolment_policy(request)
    face = service.enrol_face(session, person, data, engine, policy, face_index)
    report = service.reference_report(session, face, policy.calibration)
    session.commit()
    return ReferenceFaceEnrolled(
        **face_read(face).model_dump(),
        distances_to_own_references=report.distances_to_own,
        nearest_other_person_distance=report.nearest_other,
        warning=report.warning,
    )


@router.get("/{person_id}/calibration", response_model=CalibrationRead, responses=REFUSALS)
def get_calibration(person_id: uuid.UUID, session: SessionDep, scope: ScopeDep, request: Request) -> CalibrationRead:
    """The person's current `match` and `possible` thresholds, how many background faces they rest on and when they
    last changed."""
    person = service.get_person(session, person_id, scope)
    stored = service.get_calibration(session, person, get_enrolment_policy(request).calibration)
    if isinstance(stored, Thresholds):
        match, possible, faces, calibrated, changed, counted = (
            stored.match,
            stored.possible,
            stored.faces,
            stored.calibrated,
            None,
            None,
        )
    else:
        match, possible, faces, calibrated = (
            stored.match_threshold,
            stored.possible_threshold,
            stored.faces,
            stored.calibrated,
        )
        changed, counted = stored.thresholds_changed_at, stored.counts_updated_at
    if person.tolerance is not None:
        match, possible = person.tolerance, max(person.tolerance, possible)
    return CalibrationRead(
        person_id=person.id,
        match_threshold=match,
        possible_threshold=possible,
        faces=faces,
        calibrated=calibrated,
        tolerance_override=person.tolerance,
        thresholds_changed_at=changed,
        counts_updated_at=counted,
    )


@router.get("/{person_id}/negatives", response_model=list[NegativeFaceRead], responses=REFUSALS)
def list_negatives(
    person_id: uuid.UUID, session: SessionDep, scope: ScopeDep, request: Request
) -> list[NegativeFaceRead]:
    """Faces triaged as false matches of the person, kept (without images) until they expire."""
    person = service.get_person(session, person_id, scope)
    retention = timedelta(days=request.app.state.settings.negative_retention_days)
    return [
        NegativeFaceRead(
            id=negative.id,
            alert_id=negative.alert_id,
            distance=negative.distance,
            created_at=negative.created_at,
            expires_at=negative.created_at + retention,
        )
        for negative in service.list_negatives(session, person)
    ]


@router.get("/{person_id}/faces", response_model=list[ReferenceFaceRead], responses=REFUSALS)
def list_reference_faces(person_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> list[ReferenceFaceRead]:
    person = service.get_person(session, person_id, scope)
    return [face_read(face) for face in service.list_reference_faces(session, person)]


@router.get("/{person_id}/faces/{face_id}/crop.jpg", response_class=Response, responses=REFUSALS)
def get_reference_face_crop(person_id: uuid.UUID, face_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> Response:
    face = service.get_reference_face(session, service.get_person(session, person_id, scope), face_id)
    return Response(content=face.crop_jpeg, media_type="image/jpeg")


@router.delete("/{person_id}/faces/{face_id}", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSALS)
def delete_reference_face(person_id: uuid.UUID, face_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> Response:
    person = service.get_person(session, person_id, scope)
    service.delete_reference_face(session, person, service.get_reference_face(session, person, face_id))
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
