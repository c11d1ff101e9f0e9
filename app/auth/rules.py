"""Who may call which route: one rule per route, checked on every request. A route without a rule is refused
(deny by default), and the access matrix test fails for it, so a new route cannot ship without a decision.

Roles: `operator` runs the installation (organisations, watches, operator keys); `org_admin` runs its organisation
(people, keys, webhooks, invitations); `org_member` reads and triages alerts and scans; `subject` is a self-enrolled
person (their own faces and alerts). Which objects a role sees inside a route is the scope's job (404 otherwise).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request
from sqlmodel import Session

from app.auth import service
from core.clock import utcnow
from core.scope import Scope

PUBLIC: frozenset[str] = frozenset()
OPERATOR = frozenset({"operator"})
ADMIN = frozenset({"org_admin"})
TEAM = frozenset({"org_admin", "org_member"})
TEAM_AND_SUBJECT = TEAM | {"subject"}
ADMIN_AND_SUBJECT = ADMIN | {"subject"}
OPERATOR_AND_TEAM = OPERATOR | TEAM
OPERATOR_AND_ADMIN = OPERATOR | ADMIN

RULES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): OPERATOR,
    ("POST", "/v1/persons"): ADMIN,
    ("GET", "/v1/persons"): TEAM_AND_SUBJECT,
    ("GET", "/v1/persons/{person_id}"): TEAM_AND_SUBJECT,
    ("PATCH", "/v1/persons/{person_id}"): ADMIN,
    ("DELETE", "/v1/persons/{person_id}"): ADMIN_AND_SUBJECT,
    ("POST", "/v1/persons/{person_id}/faces"): ADMIN_AND_SUBJECT,
    ("GET", "/v1/persons/{person_id}/faces"): TEAM_AND_SUBJECT,
    ("GET", "/v1/persons/{person_id}/faces/{face_id}/crop.jpg"): TEAM_AND_SUBJECT,
    ("DELETE", "/v1/persons/{person_id}/faces/{face_id}"): ADMIN_AND_SUBJECT,
    ("POST", "/v1/scans"): TEAM,
    ("POST", "/v1/watches"): OPERATOR,
    ("GET", "/v1/watches"): OPERATOR_AND_TEAM,
    ("GET", "/v1/watches/{watch_id}"): OPERATOR_AND_TEAM,
    ("PATCH", "/v1/watches/{watch_id}"): OPERATOR,
    ("POST", "/v1/watches/{watch_id}/run"): OPERATOR,
    ("DELETE", "/v1/watches/{watch_id}"): OPERATOR,
    ("GET", "/v1/alerts"): TEAM_AND_SUBJECT,
    ("GET", "/v1/alerts/{alert_id}"): TEAM_AND_SUBJECT,
    ("GET", "/v1/alerts/{alert_id}/crop.jpg"): TEAM_AND_SUBJECT,
    ("PATCH", "/v1/alerts/{alert_id}"): TEAM,
    ("POST", "/v1/organizations"): OPERATOR,
    ("GET", "/v1/organizations"): OPERATOR,
    ("POST", "/v1/keys"): OPERATOR_AND_ADMIN,
    ("GET", "/v1/keys"): OPERATOR_AND_ADMIN,
    ("DELETE", "/v1/keys/{key_id}"): OPERATOR_AND_ADMIN,
    ("POST", "/v1/invitations"): ADMIN,
    ("POST", "/v1/invitations/redeem"): PUBLIC,
    ("GET", "/v1/audit"): OPERATOR_AND_ADMIN,
    ("POST", "/v1/webhooks"): ADMIN,
    ("GET", "/v1/webhooks"): ADMIN,
    ("GET", "/v1/webhooks/{endpoint_id}"): ADMIN,
    ("PATCH", "/v1/webhooks/{endpoint_id}"): ADMIN,
    ("DELETE", "/v1/webhooks/{endpoint_id}"): ADMIN,
    ("POST", "/v1/webhooks/{endpoint_id}/rotate-secret"): ADMIN,
    ("POST", "/v1/webhooks/{endpoint_id}/test"): ADMIN,
    ("GET", "/v1/webhooks/{endpoint_id}/deliveries"): ADMIN,
    ("GET", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}"): ADMIN,
    ("POST", "/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/retry"): ADMIN,
}
RATE_LIMITED: dict[tuple[str, str], str] = {("POST", "/v1/scans"): "scans"}
"""Routes whose calls count against the key's rate limit (`IMPWATCH_SCAN_RATE_PER_MINUTE`), and what they are."""
ANONYMOUS = Scope(role="anonymous")
_LAST_USED_RESOLUTION = timedelta(minutes=1)


def _route_key(request: Request) -> tuple[str, str]:
    """The method and the matched route's path template, as the rules name them."""
    return request.method, getattr(request.scope.get("route"), "path", "")


def rule_for(request: Request) -> frozenset[str] | None:
    return RULES.get(_route_key(request))


def authorize(request: Request) -> Scope:
    """The app-wide dependency: find the route's rule, check the bearer key's role, and set the caller's scope."""
    allowed = rule_for(request)
    if allowed is None:
        raise service.Forbidden("no_rule", "this route has no access rule; it is refused until it gets one")
    if allowed is PUBLIC:
        request.state.scope = ANONYMOUS
        return ANONYMOUS
    scope = _key_scope(request)
    if scope.role not in allowed:
        raise service.Forbidden("forbidden", f"a {scope.role} key may not {request.method} this route")
    limited = RATE_LIMITED.get(_route_key(request))
    if limited:
        request.app.state.rate_limiter.take(scope.key_id, limited)
    request.state.scope = scope
    return scope


def _key_scope(request: Request) -> Scope:
    header = request.headers.get("authorization", "")
    scheme, _, plaintext = header.partition(" ")
    if scheme.lower() != "bearer" or not plaintext:
        raise service.Unauthenticated("missing_key", "send the API key as `Authorization: Bearer <key>`")
    now = utcnow()
    with Session(request.app.state.db_engine) as session:
        key = service.authenticate(session, plaintext.strip(), now)
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
            key.last_used_at = now
            session.add(key)
            session.commit()
        return service.scope_of(key)
