"""Name mentions: a person's full name in any script, with case endings and small misspellings.

Every enrolled name is split into parts at spaces (given name, patronymic, surname), and a part into words at
hyphens (Қасым-Жомарт is one part of two words, found as two consecutive words of the text). A mention needs
two different parts of one name on different words of the text, in either order, with at most `MAX_GAP` words
between them; a name the person marked distinctive needs all its parts (one, for a single nickname). So a given
name alone, however common, never makes a mention.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rapidfuzz import fuzz

from watchlist.text.index import MAX_CACHED_WORDS, Found, TokenIndex
from watchlist.text.normalise import WORD, fold, tokens

MAX_GAP = 2  # words allowed between two parts of a name ("Нұртілеу, журналист, Иманғали" is still a mention)


@dataclass(frozen=True)
class EnrolledName:
    person_id: uuid.UUID
    text: str  # as enrolled
    parts: tuple[tuple[str, ...], ...]  # folded words of each part
    distinctive: bool
    other_spellings: tuple[str, ...] = ()  # enrolled names that fold to the same parts (the name in Latin)

    def spelled_also(self, text: str) -> EnrolledName:
        if text == self.text or text in self.other_spellings:
            return self
        return replace(self, other_spellings=(*self.other_spellings, text))

    def spelling_nearest(self, written: str) -> str:
        """Of the name's enrolled spellings, the one closest to the text as written (its script, mostly)."""
        if not self.other_spellings:
            return self.text
        spellings = (self.text, *self.other_spellings)
        return max(spellings, key=lambda spelling: fuzz.ratio(spelling.lower(), written.lower()))

    @property
    def parts_needed(self) -> int:
        return len(self.parts) if self.distinctive else 2


@dataclass(frozen=True)
class NameMention:
    person_id: uuid.UUID
    name: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class _Slot:
    name: int
    part: int
    word: int


@dataclass(frozen=True)
class _PartFound:
    part: int
    first: int  # index of its first word in the text's words
    last: int
    score: float


def enrolled_name(person_id: uuid.UUID, text: str, *, distinctive: bool) -> EnrolledName | None:
    """The name split and folded; None when it cannot make a mention (empty, or one word and not distinctive)."""
    folded_parts = (tuple(fold(token.text) for token in tokens(part)) for part in text.split())
    parts = tuple(part for part in folded_parts if part and all(part))
    if not parts or (not distinctive and len(parts) < 2):
        return None
    return EnrolledName(person_id, text.strip(), parts, distinctive)


class NameIndex:
    def __init__(self, names: Iterable[EnrolledName]) -> None:
        self._names: list[EnrolledName] = list(names)
        self._words: TokenIndex[_Slot] = TokenIndex()
        self._by_written: dict[str, _WordFound] = {}
        for name_number, name in enumerate(self._names):
            for part_number, part in enumerate(name.parts):
                for word_number, word in enumerate(part):
                    self._words.add(word, _Slot(name_number, part_number, word_number))

    def __bool__(self) -> bool:
        return bool(self._names)

    def find(self, text: str) -> list[NameMention]:
        words = [(word.start(), word.end(), word.group()) for word in WORD.finditer(text)]
        looked_up = [(position, self._lookup(word)) for position, (_, _, word) in enumerate(words)]
        looked_up = [(position, found) for position, found in looked_up if found.hits]
        candidates = _names_on_near_words(looked_up)
        if not candidates:
            return []
        found: dict[int, dict[tuple[int, int], list[tuple[int, float]]]] = {}
        for position, word_found in looked_up:
            for hit in word_found.hits:
                slot = hit.key
                if slot.name in candidates:
                    found.setdefault(slot.name, {}).setdefault((slot.part, slot.word), []).append((position, hit.score))
        mentions = []
        for name_number, slots in found.items():
            name = self._names[name_number]
            if len({part for part, _ in slots}) < name.parts_needed:
                continue
            for first, last, score in _mentions(_parts_found(name, slots), name.parts_needed):
                start, end = words[first][0], words[last][1]
                spelling = name.spelling_nearest(text[start:end])
                mentions.append(NameMention(name.person_id, spelling, start, end, score))
        return mentions

    def _lookup(self, word: str) -> _WordFound:
        """The index's answer for a word as written, cached (folding costs more than the lookup)."""
        cached = self._by_written.get(word)
        if cached is None:
            if len(self._by_written) >= MAX_CACHED_WORDS:
                self._by_written.clear()
            hits = self._words.lookup(fold(word))
            names = frozenset(hit.key.name for hit in hits)
            enough = frozenset(name for name in names if self._names[name].parts_needed == 1)
            cached = self._by_written[word] = _WordFound(hits, names, enough)
        return cached


@dataclass(frozen=True)
class _WordFound:
    hits: list[Found[_Slot]]
    names: frozenset[int]  # the names one of whose words this is
    enough: frozenset[int]  # those of them that one word may complete (a one-word distinctive name)


def _names_on_near_words(looked_up: Sequence[tuple[int, _WordFound]]) -> set[int]:
    """The names that could be mentioned: found on two words close enough to be parts of one mention, or
    complete in one word. Common given names are on many names; few of those also have a word nearby, so this
    keeps the part-by-part work for a handful of names."""
    candidates: set[int] = set()
    for index, (position, found) in enumerate(looked_up):
        candidates |= found.enough
        for later_position, later in looked_up[index + 1 :]:
            if later_position - position - 1 > MAX_GAP:
                break
            candidates |= found.names & later.names
    return candidates


def _parts_found(name: EnrolledName, slots: dict[tuple[int, int], list[tuple[int, float]]]) -> list[_PartFound]:
    """Where each part of the name stands in the text: all its words found on consecutive words."""
    found = []
    for part_number, part in enumerate(name.parts):
        for first, score in slots.get((part_number, 0), ()):
            scores = [score]
            for offset in range(1, len(part)):
                following = [s for position, s in slots.get((part_number, offset), ()) if position == first + offset]
                if not following:
                    break
                scores.append(max(following))
            else:
                found.append(_PartFound(part_number, first, first + len(part) - 1, sum(scores) / len(scores)))
    return sorted(found, key=lambda part: (part.first, part.last))


def _mentions(parts: Sequence[_PartFound], needed: int) -> list[tuple[int, int, float]]:
    """Runs of different parts, each close to the previous one, with at least `needed` parts: (first, last, score).

    A run starts at every part found; the tightest runs win and the runs kept never share a word, so
    "Нуртлеу Имангали и снова Нұртілеу Иманғали" is two mentions, not one running from the first surname on.
    """
    runs = []
    for index, anchor in enumerate(parts):
        run = [anchor]
        for candidate in parts[index + 1 :]:
            if candidate.first - run[-1].last - 1 > MAX_GAP:
                break
            if candidate.first > run[-1].last and candidate.part not in {p.part for p in run}:
                run.append(candidate)
        if len(run) >= needed:
            runs.append((run[0].first, run[-1].last, sum(p.score for p in run) / len(run)))
    kept: list[tuple[int, int, float]] = []
    for first, last, score in sorted(runs, key=lambda run: (run[1] - run[0], -run[2], run[0])):
        if all(last < other_first or first > other_last for other_first, other_last, _ in kept):
            kept.append((first, last, score))
    return sorted(kept)
