"""A dictionary of folded words that also finds them with a case ending and with a small misspelling.

Used for names and for campaign terms. A word of the text is looked up whole, then with each known ending cut
off (Kazakh and Russian noun endings, folded like the words); the enrolled word is stored whole and, when it
ends in a Russian ending that declension replaces (Дина -> Дины, Бессмертный -> Бессмертного), also without it.
The enrolled words sharing the text word's first two letters are also compared
by edit distance, with fewer edits allowed for short words (none up to 4 letters, 1 up to 7, then 2). Results
are cached per word, so a vocabulary seen once costs a dictionary lookup afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from watchlist.text.normalise import fold

Key = TypeVar("Key", bound=Hashable)

# Endings a word of the text may carry. Russian: noun and adjective cases. Kazakh: cases after vowels and
# consonants, possessives, plurals and their common combinations. Surname-forming endings (-ов, -ев, -ова)
# are left out, so that a given name is not found inside a surname made from it (Ерлан / Ерланов).
_RUSSIAN_ENDINGS = (
    "а я у ю ом ем ём ой ей ою ею е и ы ам ям ами ями ах ях ого его ому ему ым им ая яя ую юю ое ее ые ие ых их "
    "ыми ими ь"
)
_KAZAKH_ENDINGS = (
    "дың дің тың тің ның нің ың ің ға ге қа ке на не а е ды ді ты ті ны ні н ын ін да де та те нда нде дан ден "
    "тан тен нан нен мен бен пен ым ім м ың ің ы і сы сі лар лер дар дер тар тер ының інің ына іне ында інде ынан "
    "інен ымен імен ға ша ше дай дей тай тей ларға лерге дарға дерге лардың лердің дардың дердің ге"
)
# Endings of an enrolled word that its other forms replace rather than extend.
_REPLACED_ENDINGS = "а я ь й ий ый ой ая яя ое ее"
_SHORTEST_STEM = 3
MAX_CACHED_WORDS = 200_000  # a cache of words seen is emptied when it reaches this size


def _folded_set(words: str) -> frozenset[str]:
    return frozenset(folded for folded in (fold(word) for word in words.split()) if folded)


TEXT_ENDINGS = _folded_set(_RUSSIAN_ENDINGS + " " + _KAZAKH_ENDINGS)
REPLACED_ENDINGS = _folded_set(_REPLACED_ENDINGS)
_LONGEST_ENDING = max(len(ending) for ending in TEXT_ENDINGS)


def allowed_edits(length: int) -> int:
    """Edits tolerated in a word of this many folded letters: fewer for short words."""
    if length <= 4:
        return 0
    return 1 if length <= 7 else 2


@dataclass(frozen=True)
class Found(Generic[Key]):
    key: Key
    score: float  # 1.0 for an exact match (with or without an ending), less for a misspelling


def stems_of_text_word(folded: str) -> list[str]:
    """The word itself, then the word with each ending it may carry cut off (longest stem first)."""
    stems = [folded]
    for length in range(1, min(_LONGEST_ENDING, len(folded) - _SHORTEST_STEM) + 1):
        if folded[-length:] in TEXT_ENDINGS:
            stems.append(folded[:-length])
    return stems


def forms_of_enrolled_word(folded: str) -> list[str]:
    """The enrolled word, and its stem when it ends in an ending that its declined forms replace."""
    forms = [folded]
    for length in range(1, 4):
        stem = folded[:-length]
        if folded[-length:] in REPLACED_ENDINGS and len(stem) >= _SHORTEST_STEM:
            forms.append(stem)
    return forms


class TokenIndex(Generic[Key]):
    """Maps folded words to keys (who or what enrolled them)."""

    def __init__(self) -> None:
        self._exact: dict[str, dict[Key, int]] = defaultdict(dict)  # form -> key -> enrolled word's length
        self._by_prefix: dict[str, list[str]] = defaultdict(list)
        self._cache: dict[str, list[Found[Key]]] = {}

    def add(self, folded: str, key: Key) -> None:
        for form in forms_of_enrolled_word(folded):
            if form not in self._exact:
                self._by_prefix[form[:2]].append(form)
            self._exact[form][key] = len(folded)
        self._cache.clear()

    def lookup(self, folded: str) -> list[Found[Key]]:
        cached = self._cache.get(folded)
        if cached is None:
            if len(self._cache) >= MAX_CACHED_WORDS:
                self._cache.clear()
            cached = self._cache[folded] = self._find(folded)
        return cached

    def _find(self, folded: str) -> list[Found[Key]]:
        if not folded:
            return []
        stems = stems_of_text_word(folded)
        best = {key: 1.0 for stem in stems for key in self._exact.get(stem, ())}
        self._fuzzy(stems, best)
        return [Found(key, score) for key, score in best.items()]

    def _fuzzy(self, stems: list[str], best: dict[Key, float]) -> None:
        """Adds the keys of enrolled words within their allowed edits of a stem. A stem that is an enrolled word
        with letters added at its end is left out: a known ending was already tried, and any other addition
        makes another word (Имангали -> Имангалиева)."""
        for stem in stems:
            if len(stem) < 4:
                continue
            candidates = self._by_prefix.get(stem[:2])
            if not candidates:
                continue
            for form, distance, _ in process.extract(
                stem, candidates, scorer=Levenshtein.distance, score_cutoff=2, limit=None
            ):
                if distance == 0 or stem.startswith(form):
                    continue
                for key, enrolled_length in self._exact[form].items():
                    if distance <= allowed_edits(enrolled_length):
                        score = 1.0 - distance / max(len(form), len(stem))
                        best[key] = max(best.get(key, 0.0), score)
