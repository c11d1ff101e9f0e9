"""HTTP routes for organisations, keys, invitations (self-enrolment), erasure and the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import File, Form, Query, Request, UploadFile, status

from app.auth import service
from app.auth.models import ApiKey, AuditEvent
from app.auth.schemas import (
    AuditEventRead,
    ErasureRead,
    InvitationCreate,
    InvitationIssued,
    KeyCreate,
    KeyIssued,
    KeyRead,
    OrganizationCreate,
    OrganizationRead,
    SelfEnrolment,
)
from app.db import flush_deleted_data
from app.privacy import erase_person
from core.clock import utcnow
from core.http import REFUSALS, ScopeDep, SessionDep, api_router, read_upload
from core.schemas import PlainText, Refusal, UtcInstant
from core.scope import Scope
from watchlist import service as watchlist_service
from watchlist.routes import face_read, person_read
from watchlist.service import EnrolmentPhoto

router = api_router(tags=["access"])


@router.post("/v1/organizations", status_code=status.HTTP_201_CREATED, response_model=OrganizationRead)
def create_organization(data: OrganizationCreate, session: SessionDep, scope: ScopeDep) -> object:
    organization = service.create_organization(session, data.name)
    service.audit(session, scope, "organization.created", "organization", organization.id, organization.id)
    session.commit()
    return organization


@router.get("/v1/organizations", response_model=list[OrganizationRead])
def list_organizations(session: SessionDep) -> list[object]:
    return list(service.list_organizations(session))


def _key_organization(data: KeyCreate, scope: Scope) -> uuid.UUID | None:
    if scope.role == "operator":
        return data.organization_id
    if data.role == "operator":
        raise service.Forbidden("forbidden", "only an operator may create operator keys")
    if data.organization_id not in (None, scope.organization_id):
        raise watchlist_service.NotFound(f"organisation {data.organization_id} not found")
    return scope.organization_id


@router.post("/v1/keys", status_code=status.HTTP_201_CREATED, response_model=KeyIssued, responses=REFUSALS)
def create_key(data: KeyCreate, session: SessionDep, scope: ScopeDep) -> KeyIssued:
    """A new key, shown once. An org_admin creates keys of its own organisation."""
    organization_id = _key_organization(data, scope)
    if organization_id is not None:
        service.get_organization(session, organization_id)
    issued = service.issue_key(session, data.role, organization_id, data.name, data.expires_at)
    service.audit(session, scope, "key.created", "api_key", issued.key.id, organization_id, role=data.role)
    session.commit()
    return KeyIssued(**KeyRead.model_validate(issued.key).model_dump(), key=issued.plaintext)


@router.get("/v1/keys", response_model=list[KeyRead])
def list_keys(session: SessionDep, scope: ScopeDep) -> list[ApiKey]:
    return service.list_keys(session, scope)


@router.delete("/v1/keys/{key_id}", response_model=KeyRead, responses=REFUSALS)
def revoke_key(key_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> ApiKey:
    key = service.revoke_key(session, service.get_key(session, key_id, scope), utcnow())
    service.audit(session, scope, "key.revoked", "api_key", key.id, key.organization_id)
    session.commit()
    return key


@router.post("/v1/invitations", status_code=status.HTTP_201_CREATED, response_model=InvitationIssued)
def create_invitation(data: InvitationCreate, session: SessionDep, scope: ScopeDep) -> InvitationIssued:
    """A single-use, expiring invitation for a journalist to enrol themself."""
    assert scope.organization_id is not None
    invitation, token = service.create_invitation(
        session, scope.organization_id, timedelta(hours=data.valid_hours), data.note, scope.key_id
    )
    service.audit(session, scope, "invitation.created", "invitation", invitation.id)
    session.commit()
    return InvitationIssued(
        id=invitation.id, organization_id=invitation.organization_id, expires_at=invitation.expires_at, token=token
    )


@router.post(
    "/v1/invitations/redeem",
    status_code=status.HTTP_201_CREATED,
    response_model=SelfEnrolment,
    responses={**REFUSALS, 401: {"model": Refusal}, 409: {"model": Refusal}},
)
def redeem_invitation(
    request: Request,
    session: SessionDep,
    token: Annotated[PlainText, Form(max_length=200)],
    display_name: Annotated[PlainText, Form(min_length=1, max_length=200)],
    consent: Annotated[bool, Form(description="true: I agree to the statement in consent_text")],
    consent_text: Annotated[PlainText, Form(min_length=1, max_length=10_000)],
    consent_version: Annotated[PlainText, Form(min_length=1, max_length=50)],
    photos: Annotated[list[UploadFile], File(description="One or more photos of your face")],
) -> SelfEnrolment:
    """A journalist enrols themself with an invitation, their photos and explicit consent, and gets a `subject`
    key that sees only their own faces and alerts."""
    runtime = request.app.state.runtime
    max_bytes = runtime.settings.max_upload_bytes
    agreed = service.Consent(
        given=consent,
        text=consent_text,
        version=consent_version,
        client_address=request.client.host if request.client else None,
    )
    service.require_consent(agreed)
    invitation = service.claim_invitation(session, token, utcnow())
    session.commit()  # the claim: concurrent redemptions of this token are refused from here on
    try:
        redeemed = service.redeem_invitation(
            session,
            invitation,
            display_name,
            agreed,
            [EnrolmentPhoto(str(photo.filename), partial(read_upload, photo, max_bytes)) for photo in photos],
            runtime.face_engine,
            runtime.enrolment_policy,
            utcnow(),
        )
        session.commit()
    except BaseException:
        session.rollback()
        service.release_invitation(session, invitation.id)
        session.commit()
        raise
    faces = redeemed.enrolment.faces
    return SelfEnrolment(
        person=person_read(redeemed.person, len(faces)),
        reference_faces=[face_read(face) for face in faces],
        refused_photos=[
            Refusal(code=refused.code, detail=f"{refused.name}: {refused.message}")
            for refused in redeemed.enrolment.refused
        ],
        key=KeyIssued(**KeyRead.model_validate(redeemed.key.key).model_dump(), key=redeemed.key.plaintext),
    )


@router.delete("/v1/persons/{person_id}", response_model=ErasureRead, responses=REFUSALS, tags=["persons"])
def erase(request: Request, person_id: uuid.UUID, session: SessionDep, scope: ScopeDep) -> ErasureRead:
    """Erase a person (a subject may erase themself): reference encodings and crops, detection crops and
    matches, alerts and keys; one audit record with the counts stays. Answers what was removed."""
    person = watchlist_service.get_person(session, person_id, scope)
    report = erase_person(session, person, scope, request.app.state.runtime.media_store)
    session.commit()
    flush_deleted_data(request.app.state.db_engine)
    return ErasureRead(**report.__dict__)


@router.get("/v1/audit", response_model=list[AuditEventRead])
def list_audit(
    session: SessionDep,
    scope: ScopeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: UtcInstant | None = None,
) -> list[AuditEvent]:
    """Enrolments, erasures, key creation and revocation, triage: newest first."""
    return service.list_audit(session, scope, limit, before)
