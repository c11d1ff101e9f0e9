"""Text signals of a post: an enrolled person's phone number, their full name, or a lookalike of their website.

Pure matching, no database and no network: `TextWatchlist` is built once from every person's identifiers and
`find` is called on each post. See `phones`, `names` and `domains` for what each signal accepts and refuses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from watchlist.text.campaign import campaign_terms_in
from watchlist.text.domains import Domain, DomainIndex, addresses_in, parse_domain, registrable_domain
from watchlist.text.names import EnrolledName, NameIndex, enrolled_name
from watchlist.text.phones import PhoneIndex, to_e164

__all__ = [
    "PersonIdentifiers",
    "PostText",
    "TextHit",
    "TextWatchlist",
    "campaign_terms_in",
    "registrable_domain",
    "to_e164",
]

HitKind = Literal["phone_number", "name_mention", "lookalike_domain"]
Field = Literal["text", "preview", "entity", "url"]


@dataclass(frozen=True)
class PersonIdentifiers:
    person_id: uuid.UUID
    names: Sequence[str]  # display name and aliases, any script
    distinctive_names: Sequence[str] = ()  # names that alone are enough (a unique nickname, a distinctive surname)
    phone_numbers: Sequence[str] = ()  # as enrolled; normalised to E.164 in the default region
    websites: Sequence[str] = ()  # the person's own sites: domains or URLs


@dataclass(frozen=True)
class PostText:
    text: str = ""
    urls: Sequence[str] = ()  # URLs of message entities (text_link) and the link preview's href
    phone_entities: Sequence[str] = ()  # text of Telegram `phone` entities
    preview: str = ""  # link preview: site name, title and description joined by newlines


@dataclass(frozen=True)
class TextHit:
    """One signal in one place of a post.

    `subject`: for a phone its E.164 form; for a name the enrolled name that matched, as enrolled; for a domain
    the observed registrable domain (or host). `matched_text` is the span as written (for a domain, the URL).
    `start`/`end` are offsets into the field named by `where` (for `entity` and `url`, into that one string).
    `detail`: for a name `{"score"}`; for a domain `{"resembles", "reason", "explanation"}`.
    """

    person_id: uuid.UUID
    kind: HitKind
    subject: str
    matched_text: str
    start: int
    end: int
    where: Field
    detail: Mapping[str, str | float] = field(default_factory=dict)


class TextWatchlist:
    def __init__(self, people: Iterable[PersonIdentifiers], *, default_region: str = "KZ") -> None:
        people = list(people)
        self._phones = PhoneIndex(
            ((person.person_id, number) for person in people for number in person.phone_numbers), default_region
        )
        self._names = NameIndex(_enrolled_names(people))
        self._domains = DomainIndex((person.person_id, site) for person in people for site in person.websites)

    def find(self, post: PostText) -> list[TextHit]:
        """Every hit of the post, one per (person, kind, subject) and place, in the order of the fields."""
        hits: list[TextHit] = []
        fields: tuple[tuple[Field, str], ...] = (("text", post.text), ("preview", post.preview))
        for where, text in fields:
            if text:
                hits += self._phones_in(text, where)
                hits += self._names_in(text, where)
                hits += self._addresses_in(text, where)
        for entity in post.phone_entities:
            hits += [
                TextHit(found.person_id, "phone_number", found.e164, found.text, found.start, found.end, "entity")
                for found in self._phones.find_whole(entity)
            ]
        for url in post.urls:
            domain = parse_domain(url) if self._domains else None
            if domain is not None:
                hits += self._lookalikes(url, 0, len(url), domain, "url")
        return _deduplicated(hits)

    def _phones_in(self, text: str, where: Field) -> list[TextHit]:
        if not self._phones:
            return []
        return [
            TextHit(found.person_id, "phone_number", found.e164, found.text, found.start, found.end, where)
            for found in self._phones.find(text)
        ]

    def _names_in(self, text: str, where: Field) -> list[TextHit]:
        if not self._names:
            return []
        return [
            TextHit(
                mention.person_id,
                "name_mention",
                mention.name,
                text[mention.start : mention.end],
                mention.start,
                mention.end,
                where,
                {"score": round(mention.score, 3)},
            )
            for mention in self._names.find(text)
        ]

    def _addresses_in(self, text: str, where: Field) -> list[TextHit]:
        if not self._domains:
            return []
        hits = []
        for address in addresses_in(text):
            hits += self._lookalikes(address.text, address.start, address.end, address.domain, where)
        return hits

    def _lookalikes(self, written: str, start: int, end: int, domain: Domain, where: Field) -> list[TextHit]:
        return [
            TextHit(
                found.person_id,
                "lookalike_domain",
                found.observed.registrable or found.observed.host,
                written,
                start,
                end,
                where,
                {"resembles": found.resembles, "reason": found.reason, "explanation": found.explanation},
            )
            for found in self._domains.lookalikes(domain)
        ]


def _enrolled_names(people: Iterable[PersonIdentifiers]) -> Iterable[EnrolledName]:
    """Each person's names, those that fold the same (Нұртілеу Иманғали, Nurtileu Imangali) made one name."""
    for person in people:
        distinctive = {name.strip() for name in person.distinctive_names}
        merged: dict[tuple[tuple[tuple[str, ...], ...], bool], EnrolledName] = {}
        for text in [*person.names, *person.distinctive_names]:
            name = enrolled_name(person.person_id, text, distinctive=text.strip() in distinctive)
            if name is None:
                continue
            key = (name.parts, name.distinctive)
            known = merged.get(key)
            merged[key] = name if known is None else known.spelled_also(name.text)
        yield from merged.values()


def _deduplicated(hits: list[TextHit]) -> list[TextHit]:
    """One hit per (person, kind, subject, field, start); of a person's names overlapping in one place, the best."""
    kept: dict[tuple[object, ...], TextHit] = {}
    for hit in hits:
        key = (hit.person_id, hit.kind, hit.subject, hit.where, hit.start)
        if key not in kept:
            kept[key] = hit
    names_kept: list[TextHit] = []
    others = []
    for hit in kept.values():
        if hit.kind != "name_mention":
            others.append(hit)
            continue
        overlapping = [
            other
            for other in names_kept
            if other.person_id == hit.person_id
            and other.where == hit.where
            and other.start < hit.end
            and hit.start < other.end
        ]
        if not overlapping:
            names_kept.append(hit)
        elif all(_better(hit, other) for other in overlapping):
            names_kept = [other for other in names_kept if other not in overlapping] + [hit]
    order = {"text": 0, "preview": 1, "entity": 2, "url": 3}
    return sorted(others + names_kept, key=lambda hit: (order[hit.where], hit.start, hit.kind, str(hit.person_id)))


def _better(hit: TextHit, other: TextHit) -> bool:
    return (float(hit.detail.get("score", 0)), hit.end - hit.start) > (
        float(other.detail.get("score", 0)),
        other.end - other.start,
    )
