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

from app.auth.models import ROLES, ApiKey, AuditEvent, Invitation, Organization, User, UserSession
from core.clock import utcnow
from core.errors import Conflict, Forbidden, InputRejected, NotFound, Unauthenticated
from core.scope import Scope

if TYPE_CHECKING:
    from argon2 import PasswordHasher

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
        actor_user_id=scope.user_id,
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


PASSWORD_TOKEN_PREFIX = "iwpw"
MIN_PASSWORD_LENGTH = 10
_INVALID_LOGIN = "the email or the password is wrong, or the account is disabled"


def _password_hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # imported by what hashes, not by every command that lists keys

    return PasswordHasher()


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputRejected("weak_password", f"a password has at least {MIN_PASSWORD_LENGTH} characters")
    return _password_hasher().hash(password)


def create_user(
    session: Session,
    email: str,
    role: str,
    organization_id: uuid.UUID | None,
    *,
    password: str | None = None,
    person_id: uuid.UUID | None = None,
    link_valid_for: timedelta = timedelta(days=7),
) -> tuple[User, str | None]:
    """A console user with the same role rules as a key. Without a password, a one-time token to set one is
    returned (the invitation link for a colleague); it is stored only as a hash."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InputRejected("invalid_email", "an email address has an @")
    if role not in ROLES:
        raise InputRejected("invalid_role", f"the role is one of {', '.join(ROLES)}")
    if (role == "operator") != (organization_id is None):
        raise InputRejected("organization_required", "operators belong to no organisation; every other role to one")
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise Conflict("duplicate_user", f"a user with the email {email} exists")
    user = User(email=email, role=role, organization_id=organization_id, person_id=person_id)
    token = None
    if password is not None:
        user.password_hash = _checked_password(password)
    else:
        token = f"{PASSWORD_TOKEN_PREFIX}_{secrets.token_urlsafe(32)}"
        user.password_token_hash, user.password_token_expires_at = _hash(token), utcnow() + link_valid_for
    session.add(user)
    session.flush()
    return user, token


def user_for_password_token(session: Session, token: str, now: datetime) -> User:
    user = session.exec(select(User).where(User.password_token_hash == _hash(token))).first()
    expires = user.password_token_expires_at if user is not None else None
    if user is None or expires is None or expires <= now:
        raise Unauthenticated("invalid_link", "the link is unknown, used or expired")
    return user


def set_password(session: Session, token: str, password: str, now: datetime) -> User:
    """Set the password of the user this one-time link belongs to; the link is then spent."""
    user = user_for_password_token(session, token, now)
    user.password_hash = _checked_password(password)
    user.password_token_hash = user.password_token_expires_at = None
    session.add(user)
    session.flush()
    return user


def replace_password(session: Session, user: User, password: str) -> User:
    """Give the user this password at once, without a one-time link (the demo's login, set at each start)."""
    user.password_hash = _checked_password(password)
    session.add(user)
    session.flush()
    return user


def authenticate_user(session: Session, email: str, password: str) -> User:
    """The enabled user with this email and password, or `Unauthenticated` (one answer for every failure)."""
    from argon2.exceptions import VerificationError

    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or user.password_hash is None or user.disabled_at is not None:
        raise Unauthenticated("invalid_login", _INVALID_LOGIN)
    try:
        _password_hasher().verify(user.password_hash, password)
    except VerificationError as exc:
        raise Unauthenticated("invalid_login", _INVALID_LOGIN) from exc
    return user


def open_session(session: Session, user: User, lifetime: timedelta, now: datetime) -> tuple[UserSession, str]:
    """A new console session for this user; the cookie's token is returned once and stored only as a hash."""
    token = secrets.token_urlsafe(32)
    opened = UserSession(
        token_hash=_hash(token), csrf_token=secrets.token_urlsafe(32), user_id=user.id, expires_at=now + lifetime
    )
    session.add(opened)
    session.flush()
    return opened, token


def signed_in(session: Session, token: str, now: datetime) -> tuple[UserSession, User]:
    """The live session of this cookie token and its user, or `Unauthenticated`."""
    row = session.exec(
        select(UserSession, User)
        .join(User, col(User.id) == UserSession.user_id)
        .where(UserSession.token_hash == _hash(token))
    ).first()
    if row is None or row[0].expires_at <= now or row[1].disabled_at is not None:
        raise Unauthenticated("signed_out", "sign in first")
    return row[0], row[1]


def close_session(session: Session, token: str) -> None:
    session.execute(sa.delete(UserSession).where(col(UserSession.token_hash) == _hash(token)))


def user_scope(user: User) -> Scope:
    return Scope(role=user.role, organization_id=user.organization_id, person_id=user.person_id, user_id=user.id)


def list_users(session: Session, scope: Scope) -> list[User]:
    statement = select(User).order_by(col(User.email))
    if scope.organization_id is not None:
        statement = statement.where(User.organization_id == scope.organization_id)
    return list(session.exec(statement))


def open_invitation(session: Session, token: str, now: datetime) -> Invitation:
    """The invitation of this token while it can still be redeemed (to show its page), without claiming it."""
    invitation = session.exec(select(Invitation).where(Invitation.token_hash == _hash(token))).first()
    if invitation is None or invitation.redeemed_at is not None or invitation.expires_at <= now:
        raise NotFound("the invitation is unknown, used or expired")
    return invitation


def list_invitations(session: Session, organization_id: uuid.UUID) -> list[Invitation]:
    statement = select(Invitation).where(Invitation.organization_id == organization_id)
    return list(session.exec(statement.order_by(col(Invitation.created_at).desc()).limit(100)))
