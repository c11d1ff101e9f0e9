"""Lookalike sites: every address in a post compared with the people's own sites by registrable domain.

Registrable domains come from `tldextract` with the public suffix list bundled in the package (never fetched,
no cache on disk). An address whose registrable domain is one of the person's own is theirs; otherwise it is a
lookalike of an own site, for the first of these reasons that holds:

- `subdomain`: the own domain is written in front of another site (`orda.kz.news-24.ru`), or the own name is a
  label of it (`orda.news-24.ru`, for names of 5 letters or more);
- `other_tld`: the same name under another suffix (`orda.ru`, `orda.com.kz`), for names of 4 letters or more;
- `homoglyph`: the same name once look-alike characters are read as the Latin letters they imitate (Cyrillic
  `оrda.kz`, `0rda.kz`, `rn` for `m`); `confusable_homoglyphs` says which letter a character imitates;
- `added_word`: the name with a word added (`orda-news.kz`, `ordakz.com`, `news-orda.kz`, `orda24.kz`), for
  names of 4 letters or more; run together with the name, the word must be one that such sites add;
- `typosquat`: the name within 1 edit (2 from 9 letters; a swap of neighbours is one edit) under any suffix, or
  within 1 edit under the same suffix for names of 4-5 letters.

Sites that everybody shares (t.me, youtube.com, instagram.com...) identify a person only by their path, so
they are never the model of a lookalike: a link to another Telegram channel is not a fake site.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import tldextract
from anyascii import anyascii
from confusable_homoglyphs import confusables
from rapidfuzz import process
from rapidfuzz.distance import OSA

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)

SHARED_PLATFORMS = frozenset(
    [
        "t.me",
        "telegram.me",
        "telegram.org",
        "youtube.com",
        "youtu.be",
        "instagram.com",
        "facebook.com",
        "fb.com",
        "x.com",
        "twitter.com",
        "tiktok.com",
        "vk.com",
        "ok.ru",
        "linkedin.com",
        "wa.me",
        "whatsapp.com",
        "google.com",
        "threads.net",
    ]
)

# An address written in a text: an optional scheme, dot-separated labels in any script, a suffix of letters
# (or punycode), an optional port and path. Not preceded by a letter, a dot or an @ (so not an e-mail address).
ADDRESS = re.compile(
    r"(?<![\w@.\-/])(?:[a-z][a-z0-9+.\-]*://)?"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9\-]{2,59})\b"
    r"(?::\d{1,5})?(?:[/?#][^\s<>\"'«»]*)?",
    re.IGNORECASE,
)
_TRAILING_PUNCTUATION = ".,;:!?)]}'\"»…"
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_LOOKALIKE_SEQUENCES = (("rn", "m"), ("vv", "w"), ("cl", "d"))
_ASCII_LOOKALIKES = str.maketrans({"0": "o", "1": "l", "|": "l"})


def host_of(url_or_host: str) -> str:
    """The host of an address, lower case, with punycode labels decoded (`xn--rda-5cd.kz` -> `оrda.kz`)."""
    rest = _SCHEME.sub("", url_or_host.strip())
    host = re.split(r"[/?#]", rest, maxsplit=1)[0].rsplit("@", 1)[-1]
    host = host.split(":", 1)[0].rstrip(".").lower()
    return ".".join(_decoded_label(label) for label in host.split("."))


def _decoded_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna")
        except UnicodeError:
            return label
    return label


@dataclass(frozen=True)
class Domain:
    host: str
    registrable: str  # empty when the host is a public suffix itself (gov.kz) or has none
    label: str  # the registrable label: `orda` of `www.orda.kz`
    suffix: str
    subdomain: str


def parse_domain(url_or_host: str) -> Domain | None:
    host = host_of(url_or_host)
    if not host:
        return None
    parts = _EXTRACT(host)
    if not parts.suffix or not parts.domain:
        return None
    return Domain(host, parts.top_domain_under_public_suffix, parts.domain, parts.suffix, parts.subdomain)


def registrable_domain(url_or_host: str) -> str | None:
    """`https://www.orda.kz/news` -> `orda.kz`; None for a bare public suffix (`gov.kz`) or no domain at all."""
    domain = parse_domain(url_or_host)
    return domain.registrable if domain else None


@dataclass(frozen=True)
class AddressFound:
    text: str
    start: int
    end: int
    domain: Domain


def addresses_in(text: str) -> Iterator[AddressFound]:
    """Every web address in a text, with a scheme or without (`orda-kz.news`, `www.0rda.kz/...`)."""
    for found in ADDRESS.finditer(text):
        written = found.group().rstrip(_TRAILING_PUNCTUATION)
        domain = parse_domain(written)
        if domain is not None:
            yield AddressFound(written, found.start(), found.start() + len(written), domain)


@lru_cache(maxsize=4096)
def _skeleton_of_character(character: str) -> str:
    if character.isascii():
        return character.translate(_ASCII_LOOKALIKES)
    confusable = confusables.is_confusable(character, preferred_aliases=["latin"], greedy=True)
    for entry in confusable or ():
        for homoglyph in entry["homoglyphs"]:
            if homoglyph["c"].isascii():
                return str(homoglyph["c"]).lower()
    return anyascii(character).lower() or character


def skeleton(label: str) -> str:
    """What a label looks like: each character read as the Latin letter it imitates."""
    read = "".join(_skeleton_of_character(character) for character in label.lower())
    for sequence, letter in _LOOKALIKE_SEQUENCES:
        read = read.replace(sequence, letter)
    return read


def _imitations(observed: str, own: str) -> str:
    """The characters of `observed` that stand in for those of `own`, in words."""
    if len(observed) != len(own):
        return "look-alike characters"
    swaps = []
    for written, meant in zip(observed, own, strict=True):
        if written != meant:
            script = "" if written.isascii() else unicodedata.name(written, "").split(" ")[0].capitalize() + " "
            swaps.append(f"{script}'{written}' (U+{ord(written):04X}) for '{meant}'")
    return ", ".join(swaps) if swaps else "look-alike characters"


@dataclass(frozen=True)
class OwnSite:
    person_id: uuid.UUID
    domain: Domain


@dataclass(frozen=True)
class Lookalike:
    person_id: uuid.UUID
    observed: Domain
    resembles: str  # the own registrable domain
    reason: str
    explanation: str


# Words that lookalike sites add to a name run together with it (besides digits).
_ADDED_WORDS = """kz kaz qaz kazakhstan qazaqstan astana almaty news novosti zhanalyk zhanalyktar info media online live
    today tv press official pro site web portal daily times new real top ru asia world the my main plus express
    post journal gazeta life hub channel video tube net org com blog ok first"""
ADDED_WORDS = frozenset(_ADDED_WORDS.split())
_LONGEST_ADDED_WORD = max(len(word) for word in ADDED_WORDS)


@lru_cache(maxsize=8192)
def _added_words(text: str) -> bool:
    """Whether the text is a run of added words and numbers (`tvnews`, `24kz`)."""
    if not text:
        return True
    if text[0].isdigit():
        rest = text.lstrip("0123456789")
        return _added_words(rest)
    return any(
        text[:length] in ADDED_WORDS and _added_words(text[length:])
        for length in range(1, min(len(text), _LONGEST_ADDED_WORD) + 1)
    )


def _typosquat_edits(label: str) -> int:
    return 2 if len(label) >= 9 else 1


class DomainIndex:
    def __init__(self, sites: Iterable[tuple[uuid.UUID, str]]) -> None:
        self._own: dict[str, set[uuid.UUID]] = defaultdict(set)
        self._by_label: dict[str, list[OwnSite]] = defaultdict(list)
        self._by_core: dict[str, list[OwnSite]] = defaultdict(list)  # label without hyphens
        self._by_skeleton: dict[str, list[OwnSite]] = defaultdict(list)
        for person_id, site in sites:
            domain = parse_domain(site)
            if domain is None:
                continue
            self._own[domain.registrable].add(person_id)
            if domain.registrable in SHARED_PLATFORMS:
                continue
            own = OwnSite(person_id, domain)
            self._by_label[domain.label].append(own)
            self._by_core[domain.label.replace("-", "")].append(own)
            self._by_skeleton[skeleton(domain.label)].append(own)
        self._labels = list(self._by_label)
        self._cache: dict[str, list[Lookalike]] = {}

    def __bool__(self) -> bool:
        return bool(self._own)

    def lookalikes(self, observed: Domain) -> list[Lookalike]:
        """At most one lookalike per person (the first reason in the module's order) for one observed domain."""
        cached = self._cache.get(observed.host)
        if cached is None:
            if len(self._cache) > 50_000:
                self._cache.clear()
            cached = self._cache[observed.host] = self._lookalikes(observed)
        return cached

    def _lookalikes(self, observed: Domain) -> list[Lookalike]:
        if observed.registrable in SHARED_PLATFORMS:
            return []
        owners = self._own.get(observed.registrable, set())
        found: dict[uuid.UUID, Lookalike] = {}
        for candidate in self._candidates(observed):
            if candidate.person_id not in owners and candidate.person_id not in found:
                found[candidate.person_id] = candidate
        return list(found.values())

    def _candidates(self, observed: Domain) -> Iterator[Lookalike]:
        yield from self._as_subdomain(observed)
        label = observed.label
        for own in self._by_label.get(label, ()):
            if own.domain.suffix != observed.suffix and len(label) >= 4:
                yield self._lookalike(
                    own,
                    observed,
                    "other_tld",
                    f"{observed.registrable} has the name of {own.domain.registrable} under another suffix "
                    f"(.{observed.suffix} instead of .{own.domain.suffix})",
                )
        for own in self._by_skeleton.get(skeleton(label), ()):
            if own.domain.label != label:
                yield self._lookalike(
                    own,
                    observed,
                    "homoglyph",
                    f"{observed.registrable} imitates {own.domain.registrable} with "
                    f"{_imitations(label, own.domain.label)}",
                )
        yield from self._with_added_word(observed)
        yield from self._typosquats(observed)

    def _as_subdomain(self, observed: Domain) -> Iterator[Lookalike]:
        labels = observed.subdomain.split(".") if observed.subdomain else []
        for first in range(len(labels)):
            for last in range(first + 1, len(labels) + 1):
                written = ".".join(labels[first:last])
                for person_id in self._own.get(written, ()):
                    own_domain = parse_domain(written)
                    if own_domain is not None and written not in SHARED_PLATFORMS:
                        yield Lookalike(
                            person_id,
                            observed,
                            written,
                            "subdomain",
                            f"{observed.host} puts {written} in front of another site, {observed.registrable}",
                        )
        for written in labels:
            if len(written) >= 5:
                for own in self._by_label.get(written, ()):
                    yield self._lookalike(
                        own,
                        observed,
                        "subdomain",
                        f"{observed.host} uses the name of {own.domain.registrable} on another site, "
                        f"{observed.registrable}",
                    )

    def _with_added_word(self, observed: Domain) -> Iterator[Lookalike]:
        """The own name and something more: after a hyphen, anything (`orda-xyz.kz`); run together, only words
        that such sites add (`ordanews.kz`, `orda24.kz`, `ordakz.com`), so that `petrovmedia` is not `petr`."""
        label = observed.label
        core = label.replace("-", "")
        pieces = {piece: "" for piece in label.split("-")} if "-" in label else {}
        for cut in range(4, len(core) - 1):
            if _added_words(core[cut:]):
                pieces.setdefault(core[:cut], core[cut:])
        for cut in range(2, len(core) - 3):
            if _added_words(core[:cut]):
                pieces.setdefault(core[cut:], core[:cut])
        for piece in pieces:
            if len(piece) < 4:
                continue
            for own in self._by_core.get(piece, ()):
                if own.domain.label != label:
                    added = core.replace(piece, "", 1)
                    yield self._lookalike(
                        own,
                        observed,
                        "added_word",
                        f"{observed.registrable} is the name of {own.domain.registrable} with '{added}' added",
                    )

    def _typosquats(self, observed: Domain) -> Iterator[Lookalike]:
        label = observed.label
        for own_label, edits, _ in process.extract(
            label, self._labels, scorer=OSA.distance, score_cutoff=2, limit=None
        ):
            if edits == 0 or len(own_label) < 4 or edits > _typosquat_edits(own_label):
                continue
            for own in self._by_label[own_label]:
                if len(own_label) <= 5 and own.domain.suffix != observed.suffix:
                    continue
                yield self._lookalike(
                    own,
                    observed,
                    "typosquat",
                    f"{observed.registrable} is {edits} typing error{'s' if edits > 1 else ''} away from "
                    f"{own.domain.registrable}",
                )

    @staticmethod
    def _lookalike(own: OwnSite, observed: Domain, reason: str, explanation: str) -> Lookalike:
        return Lookalike(own.person_id, observed, own.domain.registrable, reason, explanation)
