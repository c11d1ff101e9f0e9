"""Candidate channels: recorded from each stored post, counted, listed most relevant first, watched in one call.

Never commits: the watch run, the request or the command owns the transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.errors import InputRejected, NotFound
from watchers.channels.extract import Pointer, pointers
from watchers.channels.models import CandidateAlert, CandidateChannel, CandidatePointer
from watchers.models import Post, Watch
from watchers.schemas import WatchCreate

if TYPE_CHECKING:
    from watchers.service import WatchIntervals

_COUNTERS = {"forward": "forwards_count", "link": "links_count", "mention": "mentions_count"}


def record_pointers(session: Session, post: Post, forwarded_username: str | None = None) -> list[CandidateChannel]:
    """Record every channel `post` points to (its forward, t.me links, @mentions) as a candidate, counting the post
    once per candidate."""
    found = pointers(post.text, post.forwarded_from, forwarded_username, post.channel)
    return [_count(session, _candidate(session, pointer, post.posted_at), pointer, post) for pointer in found]


def record_alert(session: Session, alert_id: uuid.UUID, post_id: uuid.UUID) -> None:
    """An alert was raised or seen again on `post_id`: every candidate the post points to counts it, once."""
    pointed = session.exec(select(CandidatePointer.candidate_id).where(CandidatePointer.post_id == post_id)).all()
    for candidate_id in pointed:
        known = session.exec(
            select(CandidateAlert.id).where(
                CandidateAlert.candidate_id == candidate_id, CandidateAlert.alert_id == alert_id
            )
        ).first()
        if known is not None:
            continue
        session.add(CandidateAlert(candidate_id=candidate_id, alert_id=alert_id))
        candidate = session.get(CandidateChannel, candidate_id)
        if candidate is not None:
            candidate.alerts_count += 1
            session.add(candidate)
    session.flush()


def list_candidates(session: Session, limit: int = 100, include_watched: bool = False) -> list[CandidateChannel]:
    """Most relevant first: those involved in alerts, then the most recently seen, then the most pointed to."""
    query = select(CandidateChannel)
    if not include_watched:
        query = query.where(col(CandidateChannel.watched_at).is_(None))
    query = query.order_by(
        sa.case((col(CandidateChannel.alerts_count) > 0, 0), else_=1),
        col(CandidateChannel.last_seen_at).desc(),
        col(CandidateChannel.posts_count).desc(),
        col(CandidateChannel.id),
    )
    return list(session.exec(query.limit(limit)))


def find_candidate(session: Session, reference: str) -> CandidateChannel:
    """A candidate by id or by username (`@name` too); 404 otherwise."""
    candidate: CandidateChannel | None = None
    try:
        candidate = session.get(CandidateChannel, uuid.UUID(reference))
    except ValueError:
        name = reference.strip().removeprefix("@").lower()
        candidate = session.exec(select(CandidateChannel).where(CandidateChannel.key == name)).first()
    if candidate is None:
        raise NotFound(f"no candidate channel {reference}")
    return candidate


def watch_candidate(
    session: Session,
    candidate: CandidateChannel,
    intervals: WatchIntervals,
    *,
    kind: str = "tme_preview",
    interval_seconds: int | None = None,
    since: datetime | None = None,
) -> Watch:
    """Watch the candidate's channel (by its t.me preview unless `kind` says `telegram`); 422 when it has no public
    username, 409 when it is watched already."""
    if candidate.username is None:
        raise InputRejected(
            "candidate_has_no_username",
            f"{candidate.name or 'this channel'} is known only by its name, not by a public username: "
            "it cannot be watched",
        )
    data = WatchCreate.model_validate(
        {"source": {"kind": kind, "channel": candidate.username}, "interval_seconds": interval_seconds, "since": since}
    )
    from watchers import service as watch_service  # the pipeline imports this module; watch_service imports it

    watch = watch_service.create_watch(session, data, intervals)
    candidate.watched_at = utcnow()
    session.add(candidate)
    session.flush()
    return watch


def _candidate(session: Session, pointer: Pointer, seen_at: datetime) -> CandidateChannel:
    candidate = session.exec(select(CandidateChannel).where(CandidateChannel.key == pointer.key)).first()
    if candidate is None:
        candidate = CandidateChannel(
            key=pointer.key,
            username=pointer.username,
            name=pointer.name,
            first_seen_at=seen_at,
            last_seen_at=seen_at,
        )
        session.add(candidate)
        session.flush()
    return candidate


def _count(session: Session, candidate: CandidateChannel, pointer: Pointer, post: Post) -> CandidateChannel:
    known = session.exec(
        select(CandidatePointer.id).where(
            CandidatePointer.candidate_id == candidate.id, CandidatePointer.post_id == post.id
        )
    ).first()
    if known is not None:
        return candidate
    session.add(CandidatePointer(candidate_id=candidate.id, post_id=post.id, via=pointer.via))
    candidate.posts_count += 1
    setattr(candidate, _COUNTERS[pointer.via], getattr(candidate, _COUNTERS[pointer.via]) + 1)
    candidate.first_seen_at = min(candidate.first_seen_at, post.posted_at)
    candidate.last_seen_at = max(candidate.last_seen_at, post.posted_at)
    if pointer.name and not candidate.name:
        candidate.name = pointer.name
    session.add(candidate)
    session.flush()
    return candidate
