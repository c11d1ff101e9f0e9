"""Text signals of a post: the enrolled people's phone numbers, names and lookalikes of their sites, found by the
text watchlist (`watchlist.text`) and recorded as alerts (`record_signals`), one per person, kind and subject, with
one occurrence per post. The `PostSink` of the watch run; it never commits.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from app.alerts.models import Alert
from app.alerts.pages import FetchedPage, PageFetcher
from app.alerts.schemas import (
    Evidence,
    LinkedPage,
    LookalikeDomainEvidence,
    NameMentionEvidence,
    PhoneNumberEvidence,
    TextSpan,
)
from app.alerts.service import Signal, record_signals
from watchers.models import Post
from watchlist.models import Person
from watchlist.service import TextWatchlistCache

if TYPE_CHECKING:
    from watchlist.text import TextHit, TextWatchlist

MAX_PAGES_PER_POST = 3
NAME_SUBJECT = "name"


def record_text_signals(
    session: Session,
    post: Post,
    *,
    watchlists: TextWatchlistCache,
    public_base_url: str,
    campaign_terms: Sequence[str] = (),
    pages: PageFetcher | None = None,
) -> list[Alert]:
    """Read the post's text, link preview, links and phone entities against everyone's identifiers, and raise or
    extend an alert per person, kind and subject found (a post is the installation's: it is read against every
    organisation's people, and each alert is seen only by the person's organisation). With `pages`, the page of a
    new lookalike alert's link is read first (before anything is written) and kept in its evidence."""
    from watchlist.text import PostText  # imported when used: the matchers' libraries take 0.3 s to load

    watchlist = watchlists.get(session)
    found = watchlist.find(
        PostText(text=post.text, urls=tuple(post.urls), phone_entities=tuple(post.phone_entities), preview=post.preview)
    )
    signals = text_signals(session, found)
    if not signals:
        return []
    if pages is not None:
        signals = with_linked_pages(session, signals, pages, watchlist)
    return record_signals(session, signals, post, public_base_url=public_base_url, campaign_terms=campaign_terms)


def text_signals(session: Session, hits: Iterable[TextHit]) -> list[Signal]:
    """One signal per person, kind and subject (the first hit of each), for active people; a name mention's tier is
    the person's choice (`possible` by default, `match` when they asked for it). Switched-off kinds never get here:
    the text watchlist leaves those identifiers out (`watchlist.service.person_identifiers`)."""
    people: dict[uuid.UUID, Person | None] = {}
    signals: dict[tuple[uuid.UUID, str, str], Signal] = {}
    for hit in hits:
        if hit.person_id not in people:
            people[hit.person_id] = session.get(Person, hit.person_id)
        person = people[hit.person_id]
        subject_key = subject_key_of(hit)
        key = (hit.person_id, hit.kind, subject_key)
        if person is None or not person.active or key in signals:
            continue
        tier = person.name_mentions if hit.kind == "name_mention" else "match"
        signals[key] = Signal(person=person, subject_key=subject_key, evidence=evidence_of_hit(hit), tier=tier)
    return list(signals.values())


def subject_key_of(hit: TextHit) -> str:
    """What a text alert is unique by: the number or the observed domain; for a name, the person alone, so that the
    same person named in Kazakh, Russian and Latin script is one alert with an occurrence per post."""
    return NAME_SUBJECT if hit.kind == "name_mention" else hit.subject[:200]


def with_linked_pages(
    session: Session, signals: list[Signal], pages: PageFetcher, watchlist: TextWatchlist
) -> list[Signal]:
    """The signals, each new lookalike's evidence with the page its link points at (at most `MAX_PAGES_PER_POST`
    pages a post; a lookalike already alerted on had its page read when it was raised)."""
    fetched: dict[str, FetchedPage] = {}
    kept = []
    for signal in signals:
        evidence = signal.evidence
        if isinstance(evidence, LookalikeDomainEvidence) and evidence.url and not _alerted(session, signal):
            page = _read_once(fetched, evidence.url, pages)
            if page is not None:
                linked = LinkedPage(
                    url=page.url, title=page.title, error=page.error, names_person=_names(watchlist, page, signal)
                )
                signal = dataclasses.replace(signal, evidence=evidence.model_copy(update={"page": linked}))
        kept.append(signal)
    return kept


def _read_once(fetched: dict[str, FetchedPage], url: str, pages: PageFetcher) -> FetchedPage | None:
    if url not in fetched:
        if len(fetched) >= MAX_PAGES_PER_POST:
            return None
        fetched[url] = pages.fetch(url if "://" in url else f"http://{url}")
    return fetched[url]


def _names(watchlist: TextWatchlist, page: FetchedPage, signal: Signal) -> bool:
    """Whether the page's title or text names the signal's person (as a name mention would: a full name)."""
    from watchlist.text import PostText

    if page.error:
        return False
    hits = watchlist.find(PostText(text=f"{page.title or ''}\n{page.text}"))
    return any(hit.kind == "name_mention" and hit.person_id == signal.person.id for hit in hits)


def _alerted(session: Session, signal: Signal) -> bool:
    statement = select(Alert.id).where(
        Alert.person_id == signal.person.id, Alert.kind == "lookalike_domain", Alert.subject_key == signal.subject_key
    )
    return session.exec(statement).first() is not None


def evidence_of_hit(hit: TextHit) -> Evidence:
    detail = {key: value for key, value in hit.detail.items() if isinstance(value, str | float | int)}
    common = {
        "span": TextSpan(text=hit.matched_text, start=hit.start, end=hit.end),
        "where": hit.where,
        "explanation": _explanation(hit),
        "detail": detail,
    }
    if hit.kind == "phone_number":
        return PhoneNumberEvidence(number=hit.subject, **common)
    if hit.kind == "name_mention":
        return NameMentionEvidence(name=hit.subject, **common)
    return LookalikeDomainEvidence(
        domain=hit.subject,
        resembles=str(hit.detail.get("resembles", "")),
        reason=str(hit.detail.get("reason", "")),
        url=hit.matched_text,
        **common,
    )


def _explanation(hit: TextHit) -> str:
    where = {"text": "the text", "preview": "the link preview", "entity": "a phone entity", "url": "a link"}[hit.where]
    said = str(hit.detail.get("explanation") or hit.detail.get("reason") or "")
    return f"{hit.matched_text!r} in {where}" + (f": {said}" if said else "")
