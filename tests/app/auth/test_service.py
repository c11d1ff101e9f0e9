"""Self-enrolment in the service: what a redemption stores, and that a refused one stores nothing and leaves the
invitation open. The service never commits; these tests commit as a route does."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.auth import service
from app.auth.models import AuditEvent, Invitation
from app.runtime import Runtime
from core.clock import utcnow
from core.errors import InputRejected
from tests.factories import faceless_photo, organization_id
from tests.support import fixture_bytes
from watchlist.models import Person
from watchlist.service import EnrolmentPhoto, NoUsablePhoto

CONSENT = service.Consent(given=True, text="I agree.", version="2026-11", client_address="10.0.0.7")


def photos(**named: bytes) -> list[EnrolmentPhoto]:
    return [EnrolmentPhoto(name, lambda data=data: data) for name, data in named.items()]


def open_invitation(runtime: Runtime) -> str:
    with Session(runtime.db_engine) as session:
        _, token = service.create_invitation(session, organization_id(runtime), timedelta(hours=1), "", None)
        session.commit()
        return token


def redeem(runtime: Runtime, session: Session, token: str, consent: service.Consent, **named: bytes):
    """As the route does: consent first, then the claim committed, the redemption, and the claim released if the
    redemption is refused."""
    service.require_consent(consent)
    invitation = service.claim_invitation(session, token, utcnow())
    session.commit()
    try:
        return service.redeem_invitation(
            session,
            invitation,
            "Aigerim Journalist",
            consent,
            photos(**named),
            runtime.face_engine,
            runtime.enrolment_policy,
            utcnow(),
        )
    except BaseException:
        session.rollback()
        service.release_invitation(session, invitation.id)
        session.commit()
        raise


def stored(runtime: Runtime) -> tuple[list[Invitation], list[Person]]:
    with Session(runtime.db_engine) as session:
        return list(session.exec(select(Invitation))), list(session.exec(select(Person)))


def test_a_refused_redemption_stores_nothing_and_leaves_the_invitation_open(runtime: Runtime) -> None:
    token = open_invitation(runtime)
    with Session(runtime.db_engine) as session:
        with pytest.raises(InputRejected) as no_consent:
            redeem(runtime, session, token, service.Consent(False, "I agree.", "2026-11", None), face=b"")
        assert no_consent.value.code == "consent_required"
        with pytest.raises(NoUsablePhoto) as no_face:
            redeem(runtime, session, token, CONSENT, **{"gradient.png": faceless_photo()})
        assert [refused.code for refused in no_face.value.refused] == ["no_face"]
        session.commit()
    [invitation], persons = stored(runtime)
    assert invitation.redeemed_at is None and invitation.consent_text is None and persons == []


def test_a_redemption_enrols_the_journalist_records_consent_and_issues_a_subject_key(runtime: Runtime) -> None:
    token = open_invitation(runtime)
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        redeemed = redeem(
            runtime, session, token, CONSENT, **{"obama.jpg": fixture_bytes("obama.jpg"), "blank.png": faceless_photo()}
        )
        assert stored(runtime)[1] == [], "nothing is committed by the service"
        session.commit()
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == "person.self_enrolled")).one()

    [invitation], [person] = stored(runtime)
    assert person.id == redeemed.person.id and person.organization_id == organization_id(runtime)
    assert len(redeemed.enrolment.faces) == 1 and [r.name for r in redeemed.enrolment.refused] == ["blank.png"]
    assert invitation.person_id == person.id and invitation.redeemed_at is not None
    assert (invitation.consent_text, invitation.consent_version) == ("I agree.", "2026-11")
    assert invitation.consent_client_address == "10.0.0.7"
    assert redeemed.key.key.role == "subject" and redeemed.key.key.person_id == person.id
    assert audited.object_id == str(person.id) and audited.details["reference_faces"] == 1
    with Session(runtime.db_engine) as session, pytest.raises(service.Conflict):
        service.claim_invitation(session, token, utcnow())
