"""A dictionary of folded words that also finds them with a case ending and with a small misspelling.

Used for names and for campaign terms. A word of the text is looked up whole, then with each known ending cut
off (Kazakh and Russian noun endings, folded like the words). An enrolled word is stored whole and, when it ends
in a Russian ending that declension replaces, also as its stem with the endings that may replace it: Дина is
also `дин` + ы/е/у/ой (Дины, Дине, Дину, Диной), Бессмертный is `бессмертн` + ого/ому/ым..., and a feminine
surname Тоқаева is `токаев` + ой/у only, so that Тоқаев (another person) and Токаевым are not her. Kazakh endings
follow the whole word (Тоқаеваның), so they are only tried on it.

The enrolled forms sharing the text word's first two letters and its last are also compared by edit distance
(a misspelling inside the word), with fewer edits allowed for short words (none up to 4 letters, 1 up to 7,
then 2). Results are cached per word, so a vocabulary seen once costs a dictionary lookup afterwards.
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
# Endings of an enrolled word that declension replaces, and what may stand in their place.
_ADJECTIVE = "ого его ому ему ым им ом ем ая яя ую юю ое ее ые ие ых их ыми ими ой ей"
_REPLACEMENTS = {
    "а": "ы и е у ой ою",
    "я": "и е ю ей ею",
    "й": "я ю е и ем ем " + _ADJECTIVE,
    "ий": "ия ию ии ие ием " + _ADJECTIVE,
    "ый": _ADJECTIVE,
    "ой": _ADJECTIVE,
    "ая": "ой ую ые ых",
    "ое": "ого ому ым ом",
}
_FEMININE_SURNAME = ("ова", "ева", "ёва")  # Тоқаева: Тоқаевой, Тоқаеву
_FEMININE_SURNAME_REPLACEMENTS = "ой у"
_SHORTEST_STEM = 3
MAX_CACHED_WORDS = 200_000  # a cache of words seen is emptied when it reaches this size


def _folded_set(words: str) -> frozenset[str]:
    return frozenset(folded for folded in (fold(word) for word in words.split()) if folded)


def _replacements() -> dict[str, frozenset[str]]:
    folded: dict[str, frozenset[str]] = {}
    for ending, replacements in _REPLACEMENTS.items():
        key = fold(ending)
        folded[key] = folded.get(key, frozenset()) | _folded_set(replacements)
    return folded


TEXT_ENDINGS = _folded_set(_RUSSIAN_ENDINGS + " " + _KAZAKH_ENDINGS)
REPLACEMENTS = _replacements()
FEMININE_SURNAME_ENDINGS = tuple(fold(ending) for ending in _FEMININE_SURNAME)
FEMININE_SURNAME_REPLACEMENTS = _folded_set(_FEMININE_SURNAME_REPLACEMENTS)
_SPLIT_ENDINGS = TEXT_ENDINGS.union(*REPLACEMENTS.values())
_LONGEST_ENDING = max(len(ending) for ending in _SPLIT_ENDINGS)


def allowed_edits(length: int) -> int:
    """Edits tolerated in a word of this many folded letters: fewer for short words."""
    if length <= 4:
        return 0
    return 1 if length <= 7 else 2


@dataclass(frozen=True)
class Found(Generic[Key]):
    key: Key
    score: float  # 1.0 for an exact match (with or without an ending), less for a misspelling


def splits_of_text_word(folded: str) -> list[tuple[str, str]]:
    """(stem, ending): the word itself with no ending, then with each ending it may carry cut off."""
    splits = [(folded, "")]
    for length in range(1, min(_LONGEST_ENDING, len(folded) - _SHORTEST_STEM) + 1):
        if folded[-length:] in _SPLIT_ENDINGS:
            splits.append((folded[:-length], folded[-length:]))
    return splits


def forms_of_enrolled_word(folded: str) -> list[tuple[str, frozenset[str] | None]]:
    """(form, endings): the whole word (any text ending, None), then its stems with the endings that replace
    the cut one."""
    forms: list[tuple[str, frozenset[str] | None]] = [(folded, None)]
    for length in range(1, 4):
        stem, ending = folded[:-length], folded[-length:]
        if ending in REPLACEMENTS and len(stem) >= _SHORTEST_STEM:
            feminine = folded.endswith(FEMININE_SURNAME_ENDINGS) and ending == fold("а")
            forms.append((stem, FEMININE_SURNAME_REPLACEMENTS if feminine else REPLACEMENTS[ending]))
    return forms


@dataclass(frozen=True)
class _Entry(Generic[Key]):
    key: Key
    enrolled_length: int
    endings: frozenset[str] | None  # None: the whole word, which takes any ending


class TokenIndex(Generic[Key]):
    """Maps folded words to keys (who or what enrolled them)."""

    def __init__(self, *, misspellings: bool = True) -> None:
        self._misspellings = misspellings
        self._forms: dict[str, list[_Entry[Key]]] = defaultdict(list)
        self._by_prefix: dict[str, list[str]] = defaultdict(list)
        self._cache: dict[str, list[Found[Key]]] = {}

    def add(self, folded: str, key: Key) -> None:
        for form, endings in forms_of_enrolled_word(folded):
            if form not in self._forms:
                self._by_prefix[form[:2]].append(form)
            self._forms[form].append(_Entry(key, len(folded), endings))
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
        splits = splits_of_text_word(folded)
        best: dict[Key, float] = {}
        for stem, ending in splits:
            for entry in self._forms.get(stem, ()):
                if _takes(entry, ending):
                    best[entry.key] = 1.0
        if self._misspellings:
            self._fuzzy(splits, best)
        return [Found(key, score) for key, score in best.items()]

    def _fuzzy(self, splits: list[tuple[str, str]], best: dict[Key, float]) -> None:
        """Adds the keys of enrolled forms within their allowed edits of a stem. A misspelling is inside the word:
        the first two letters (the bucket) and the last must be the same, and neither may be the other with
        letters added at its end. Changes at the end are endings, already tried exactly, or make another word
        (Имангали -> Имангалиева, Тоқаева -> Тоқаев, Токаевым)."""
        for stem, ending in splits:
            if len(stem) < 4:
                continue
            candidates = self._by_prefix.get(stem[:2])
            if not candidates:
                continue
            for form, distance, _ in process.extract(
                stem, candidates, scorer=Levenshtein.distance, score_cutoff=2, limit=None
            ):
                if distance == 0 or stem[-1] != form[-1] or stem.startswith(form) or form.startswith(stem):
                    continue
                for entry in self._forms[form]:
                    if distance <= allowed_edits(entry.enrolled_length) and _takes(entry, ending):
                        score = 1.0 - distance / max(len(form), len(stem))
                        best[entry.key] = max(best.get(entry.key, 0.0), score)


def _takes(entry: _Entry[Key], ending: str) -> bool:
    if entry.endings is None:
        return ending == "" or ending in TEXT_ENDINGS
    return ending in entry.endings
