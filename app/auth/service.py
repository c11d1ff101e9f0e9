"""Keys, organisations, invitations and the audit log. Services never commit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.auth.models import ApiKey, AuditEvent, Invitation, Organization
from core.clock import utcnow
from core.errors import Conflict, Forbidden, InputRejected, NotFound, Unauthenticated
from core.scope import Scope

if TYPE_CHECKING:
    from watchlist.engine import FaceEngine
    from watchlist.models import Person
    from watchlist.service import EnrolmentOutcome, EnrolmentPhoto, EnrolmentPolicy

KEY_PREFIX = "iw"
INVITATION_PREFIX = "iwinv"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plaintext: str


def create_organization(session: Session, name: str) -> Organization:
    if session.exec(select(Organization).where(Organization.name == name)).first() is not None:
        raise Conflict("duplicate_organization", f"an organisation named {name!r} exists")
    organization = Organization(name=name)
    session.add(organization)
    session.flush()
    return organization


def get_organization(session: Session, organization_id: uuid.UUID) -> Organization:
    organization = session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"organisation {organization_id} not found")
    return organization


def find_organization(session: Session, name_or_id: str) -> Organization:
    try:
        found = session.get(Organization, uuid.UUID(name_or_id))
    except ValueError:
        found = session.exec(select(Organization).where(Organization.name == name_or_id)).first()
    if found is None:
        raise NotFound(f"organisation {name_or_id!r} not found")
    return found


def organization_or_default(session: Session, name_or_id: str | None, *, create_default: bool = False) -> Organization:
    """For the command line: the named organisation; without a name, the only one there is. With several it is
    refused (`organization_required`: choose with --org); with none, one named "default" is made when
    `create_default` (enrolling a person: a single press office never has to think about organisations), and
    otherwise it is refused too."""
    if name_or_id:
        return find_organization(session, name_or_id)
    existing = list(session.exec(select(Organization).order_by(Organization.name).limit(11)))
    if not existing:
        if create_default:
            return create_organization(session, "default")
        raise InputRejected(
            "organization_required",
            "there is no organisation yet: create one with `impwatch org create NAME`",
        )
    if len(existing) > 1:
        names = ", ".join(organization.name for organization in existing[:10])
        raise InputRejected("organization_required", f"there are several organisations ({names}): choose with --org")
    return existing[0]


def list_organizations(session: Session) -> list[Organization]:
    return list(session.exec(select(Organization).order_by(Organization.name)))


def has_operator_key(session: Session) -> bool:
    live = select(ApiKey.id).where(ApiKey.role == "operator", col(ApiKey.revoked_at).is_(None))
    return session.exec(live.limit(1)).first() is not None


def issue_key(
    session: Session,
    role: str,
    organization_id: uuid.UUID | None,
    name: str = "",
    expires_at: datetime | None = None,
    person_id: uuid.UUID | None = None,
) -> IssuedKey:
    """A new random key; its plaintext is returned once and never stored."""
    if role != "operator" and organization_id is None:
        raise InputRejected("organization_required", f"a {role} key belongs to an organisation")
    if role == "operator" and organization_id is not None:
        raise InputRejected("operator_is_installation_wide", "operator keys belong to no organisation")
    prefix = secrets.token_hex(4)
    plaintext = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        prefix=prefix,
        key_hash=_hash(plaintext),
        name=name,
        role=role,
        organization_id=organization_id,
        person_id=person_id,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return IssuedKey(key, plaintext)


def authenticate(session: Session, plaintext: str, now: datetime) -> ApiKey:
    """The live key this plaintext belongs to, or `Unauthenticated` (the same answer for every failure)."""
    parts = plaintext.split("_", 2)
    refused = Unauthenticated("invalid_key", "the API key is missing, unknown, expired or revoked")
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise refused
    key = session.exec(select(ApiKey).where(ApiKey.prefix == parts[1])).first()
    if key is None or not hmac.compare_digest(key.key_hash, _hash(plaintext)):
        raise refused
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise refused
    return key


def scope_of(key: ApiKey) -> Scope:
    return Scope(role=key.role, organization_id=key.organization_id, person_id=key.person_id, key_id=key.id)


def list_keys(session: Session, scope: Scope) -> list[ApiKey]:
    statement = select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))
    if scope.organization_id is not None:
        statement = statement.where(ApiKey.organization_id == scope.organization_id)
    return list(session.exec(statement))


def get_key(session: Session, key_id: uuid.UUID, scope: Scope) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or not scope.sees(key.organization_id):
        raise NotFound(f"key {key_id} not found")
    return key


def revoke_key(session: Session, key: ApiKey, now: datetime) -> ApiKey:
    key.revoked_at = key.revoked_at or now
    session.add(key)
    session.flush()
    return key


def create_invitation(
    session: Session, organization_id: uuid.UUID, valid_for: timedelta, note: str, created_by: uuid.UUID | None
) -> tuple[Invitation, str]:
    token = f"{INVITATION_PREFIX}_{secrets.token_urlsafe(32)}"
    invitation = Invitation(
        organization_id=organization_id,
        token_hash=_hash(token),
        note=note,
        created_by_key_id=created_by,
        expires_at=utcnow() + valid_for,
    )
    session.add(invitation)
    session.flush()
    return invitation, token


def claim_invitation(session: Session, token: str, now: datetime) -> Invitation:
    """Claim the open invitation of this token, or refuse: one conditional UPDATE (open and unexpired), so of
    concurrent redemptions exactly one claims it. The caller commits the claim before any slow work, and
    `release_invitation` reopens it if the redemption is then refused. A claimed invitation has `redeemed_at` set
    and no person yet."""
    token_hash = _hash(token)
    claimed = session.execute(
        sa.update(Invitation)
        .where(
            col(Invitation.token_hash) == token_hash,
            col(Invitation.redeemed_at).is_(None),
            col(Invitation.expires_at) > now,
        )
        .values(redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    invitation = session.exec(select(Invitation).where(Invitation.token_hash == token_hash)).first()
    if invitation is not None:
        session.refresh(invitation)
    if invitation is None:
        raise Unauthenticated("invalid_invitation", "the invitation token is unknown")
    if claimed.rowcount == 1:  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
        return invitation
    if invitation.redeemed_at is not None:
        raise Conflict("invitation_used", "the invitation was already used, or is being redeemed right now")
    raise Forbidden("invitation_expired", "the invitation has expired")


def release_invitation(session: Session, invitation_id: uuid.UUID) -> None:
    """Reopen a claimed invitation whose redemption was refused (no person was enrolled from it)."""
    session.execute(
        sa.update(Invitation)
        .where(col(Invitation.id) == invitation_id, col(Invitation.person_id).is_(None))
        .values(redeemed_at=None)
        .execution_options(synchronize_session=False)
    )


def require_consent(consent: Consent) -> None:
    if not consent.given:
        raise InputRejected("consent_required", "enrolment needs explicit consent (consent=true)")


@dataclass(frozen=True)
class Consent:
    """What the journalist agreed to, as their client sent it, and from where."""

    given: bool
    text: str
    version: str
    client_address: str | None


@dataclass(frozen=True)
class Redemption:
    invitation: Invitation
    person: Person
    enrolment: EnrolmentOutcome
    key: IssuedKey


def redeem_invitation(
    session: Session,
    invitation: Invitation,
    display_name: str,
    consent: Consent,
    photos: Sequence[EnrolmentPhoto],
    engine: FaceEngine,
    policy: EnrolmentPolicy,
    now: datetime,
) -> Redemption:
    """Self-enrolment with an invitation the caller claimed (`claim_invitation`) and committed: with explicit
    consent the journalist becomes a person of the invitation's organisation, enrolled from their usable photos, with
    a `subject` key of their own; the consent is recorded on the invitation. The photos are analysed before the first
    write, so the face work holds no write lock. Refused (`consent_required`, `no_usable_photo`) with nothing
    written: the caller then releases the invitation (`release_invitation`)."""
    from watchlist import service as watchlist_service  # face work: imported by its one user, not with the keys
    from watchlist.schemas import PersonCreate

    require_consent(consent)
    analysed = watchlist_service.analyse_photos(photos, engine, policy)
    scope = Scope(role="org_admin", organization_id=invitation.organization_id)
    person, enrolment = watchlist_service.create_enrolled_person(
        session, PersonCreate(display_name=display_name), scope, analysed, engine, policy
    )
    invitation.redeemed_at, invitation.person_id = now, person.id
    invitation.consent_text, invitation.consent_version = consent.text, consent.version
    invitation.consent_client_address = consent.client_address
    session.add(invitation)
    issued = issue_key(session, "subject", invitation.organization_id, display_name, person_id=person.id)
    audit(
        session,
        scope_of(issued.key),
        "person.self_enrolled",
        "person",
        person.id,
        consent_version=consent.version,
        reference_faces=len(enrolment.faces),
    )
    return Redemption(invitation, person, enrolment, issued)


def audit(
    session: Session,
    scope: Scope,
    action: str,
    object_type: str,
    object_id: object,
    organization_id: uuid.UUID | None = None,
    **details: object,
) -> AuditEvent:
    event = AuditEvent(
        action=action,
        organization_id=organization_id if organization_id is not None else scope.organization_id,
        actor_key_id=scope.key_id,
        actor_role=scope.role,
        object_type=object_type,
        object_id=str(object_id),
        details=details,
    )
    session.add(event)
    session.flush()
    return event


def list_audit(session: Session, scope: Scope, limit: int, before: datetime | None) -> list[AuditEvent]:
    statement = select(AuditEvent).order_by(col(AuditEvent.at).desc()).limit(limit)
    if scope.organization_id is not None:
        statement = statement.where(AuditEvent.organization_id == scope.organization_id)
    if before is not None:
        statement = statement.where(AuditEvent.at < before)
    return list(session.exec(statement))
