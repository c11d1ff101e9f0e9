"""Signals that reinforce each other: what the alerts of one post say together.

`fuse_post_signals` runs after a post's faces or text are recorded (each time: it is idempotent, so whichever is
recorded last sees the others). For every person with alerts in the post, on a channel that is not their own:

- a face alert with a text signal of the same person (their name, their number, a lookalike of their site) is
  corroborated: a `possible` face becomes a `match`, with the reason in `tier_reason`; a face that was a `match`
  on its own gets the next higher priority;
- every alert of a post that carries one of the operator's campaign terms gets the next higher priority.

What an alert learnt stays with it (`corroborated_by`, `campaign_terms`), so a later repost never lowers it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.alerts.models import Alert, AlertOccurrence
from watchers.models import Post

PRIORITY_LEVELS = ("low", "normal", "high", "urgent")
FACE = "face_match"


def fuse_post_signals(
    session: Session, post: Post, campaign_terms: Sequence[str] = ()
) -> dict[uuid.UUID, tuple[Alert, list[str]]]:
    """Corroborate the alerts of this post with each other and with the campaign terms; returns each alert whose
    tier or priority changed, with the names of the fields that did."""
    alerts = _alerts_of(session, post)
    if not alerts:
        return {}
    terms = _campaign_terms_in(post, campaign_terms)
    kinds: dict[uuid.UUID, set[str]] = defaultdict(set)
    for alert in alerts:
        kinds[alert.person_id].add(alert.kind)
    changed = {}
    for alert in alerts:
        before = (alert.tier, alert.priority)
        _learn(alert, sorted(kinds[alert.person_id] - {alert.kind}), terms)
        alert.priority = priority_of(alert)
        after = (alert.tier, alert.priority)
        fields = [name for name, old, new in zip(("tier", "priority"), before, after, strict=True) if old != new]
        session.add(alert)
        if fields:
            changed[alert.id] = (alert, fields)
    session.flush()
    return changed


def _campaign_terms_in(post: Post, campaign_terms: Sequence[str]) -> list[str]:
    if not campaign_terms:
        return []
    from watchlist.text import campaign_terms_in  # imported when used, as every CLI command loads this module

    return campaign_terms_in(f"{post.text}\n{post.preview}", list(campaign_terms))


def _alerts_of(session: Session, post: Post) -> list[Alert]:
    """The alerts with an occurrence in this post that is not on the person's own channel."""
    rows = session.exec(
        select(Alert)
        .join(AlertOccurrence, col(AlertOccurrence.alert_id) == Alert.id)
        .where(AlertOccurrence.post_id == post.id, col(AlertOccurrence.official).is_(False))
        .order_by(col(Alert.created_at), col(Alert.id))
    )
    return list({alert.id: alert for alert in rows}.values())


def _learn(alert: Alert, other_kinds: list[str], terms: list[str]) -> None:
    if other_kinds and set(other_kinds) - set(alert.corroborated_by):
        alert.corroborated_by = sorted({*alert.corroborated_by, *other_kinds})
    if terms and set(terms) - set(alert.campaign_terms):
        alert.campaign_terms = [*alert.campaign_terms, *(term for term in terms if term not in alert.campaign_terms)]
    text_kinds = [kind for kind in alert.corroborated_by if kind != FACE]
    if alert.kind == FACE and alert.tier == "possible" and text_kinds:
        alert.tier = "match"
        alert.tier_reason = f"a possible face match, and the same post {_describe(text_kinds)}"


def _describe(kinds: list[str]) -> str:
    said = {
        "name_mention": "names the person",
        "phone_number": "carries their phone number",
        "lookalike_domain": "links to a lookalike of their site",
    }
    return " and ".join(said.get(kind, kind) for kind in kinds)


def priority_of(alert: Alert) -> str:
    """`low` while every occurrence is on the person's own channels (their own publication, most likely); else
    `high` for a `match` and `normal` for a `possible` one that a person should review, one step higher for a face
    that was a match on its own and is corroborated by a text signal, and one more when the alert's posts carry a
    campaign term (`urgent` at most)."""
    if alert.official_only:
        return "low"
    level = PRIORITY_LEVELS.index("high" if alert.tier == "match" else "normal")
    if alert.kind == FACE and alert.tier_reason is None and any(kind != FACE for kind in alert.corroborated_by):
        level += 1
    if alert.campaign_terms:
        level += 1
    return PRIORITY_LEVELS[min(level, len(PRIORITY_LEVELS) - 1)]
