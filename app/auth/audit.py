"""The audit log records enrolments and triage wherever they happen (API, CLI, invitations), from a session
event, so no code path can forget it. The actor is the scope a request put in `session.info["scope"]`."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from app.alerts.models import Alert
from app.auth.models import AuditEvent
from core.scope import INSTALLATION, Scope
from watchlist.models import Person, ReferenceFace


def _audit_changes(session: Session, _context: object, _instances: object) -> None:
    scope: Scope = session.info.get("scope") or INSTALLATION
    with session.no_autoflush:
        events = [_enrolled(session, scope, obj) for obj in session.new if isinstance(obj, ReferenceFace)]
        events += [_triaged(scope, obj) for obj in session.dirty if isinstance(obj, Alert) and _status_changed(obj)]
    session.add_all(events)


def _enrolled(session: Session, scope: Scope, face: ReferenceFace) -> AuditEvent:
    person = session.get(Person, face.person_id)
    return AuditEvent(
        action="reference_face.enrolled",
        organization_id=person.organization_id if person else scope.organization_id,
        actor_key_id=scope.key_id,
        actor_user_id=scope.user_id,
        actor_role=scope.role,
        object_type="person",
        object_id=str(face.person_id),
        details={"reference_face_id": str(face.id)},
    )


def _status_changed(alert: Alert) -> bool:
    state = sa.inspect(alert)
    return state.attrs.status.history.has_changes() or state.attrs.note.history.has_changes()


def _triaged(scope: Scope, alert: Alert) -> AuditEvent:
    return AuditEvent(
        action="alert.triaged",
        organization_id=scope.organization_id,
        actor_key_id=scope.key_id,
        actor_user_id=scope.user_id,
        actor_role=scope.role,
        object_type="alert",
        object_id=str(alert.id),
        details={"status": alert.status, "note_set": bool(alert.note)},
    )


def install_audit_listener() -> None:
    """Idempotent: listens on every SQLModel session of the process."""
    if not sa.event.contains(Session, "before_flush", _audit_changes):
        sa.event.listen(Session, "before_flush", _audit_changes)
