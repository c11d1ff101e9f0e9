"""Name mentions: a person's full name in any script, with case endings and small misspellings.

Every enrolled name is split into parts at spaces (given name, patronymic, surname), and a part into words at
hyphens (Қасым-Жомарт is one part of two words, found as two consecutive words of the text). A mention needs
two different parts of one name on different words of the text, in either order, with at most `MAX_GAP` words
between them; a name the person marked distinctive needs all its parts (one, for a single nickname). So a given
name alone, however common, never makes a mention.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watchlist.text.index import TokenIndex
from watchlist.text.normalise import fold, tokens

MAX_GAP = 2  # words allowed between two parts of a name ("Нұртілеу, журналист, Иманғали" is still a mention)


@dataclass(frozen=True)
class EnrolledName:
    person_id: uuid.UUID
    text: str  # as enrolled
    parts: tuple[tuple[str, ...], ...]  # folded words of each part
    distinctive: bool

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
    parts = tuple(words for words in (tuple(fold(t.text) for t in tokens(part)) for part in text.split()) if all(words))
    parts = tuple(part for part in parts if part)
    if not parts or (not distinctive and len(parts) < 2):
        return None
    return EnrolledName(person_id, text.strip(), parts, distinctive)


class NameIndex:
    def __init__(self, names: Iterable[EnrolledName]) -> None:
        self._names: list[EnrolledName] = list(names)
        self._words: TokenIndex[_Slot] = TokenIndex()
        for name_number, name in enumerate(self._names):
            for part_number, part in enumerate(name.parts):
                for word_number, word in enumerate(part):
                    self._words.add(word, _Slot(name_number, part_number, word_number))

    def __bool__(self) -> bool:
        return bool(self._names)

    def find(self, text: str) -> list[NameMention]:
        words = list(tokens(text))
        found: dict[int, dict[tuple[int, int], list[tuple[int, float]]]] = defaultdict(lambda: defaultdict(list))
        for position, word in enumerate(words):
            for hit in self._words.lookup(fold(word.text)):
                found[hit.key.name][(hit.key.part, hit.key.word)].append((position, hit.score))
        mentions = []
        for name_number, slots in found.items():
            name = self._names[name_number]
            parts = _parts_found(name, slots)
            mentions += [
                NameMention(name.person_id, name.text, words[first].start, words[last].end, score)
                for first, last, score in _mentions(parts, name.parts_needed)
            ]
        return mentions


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
