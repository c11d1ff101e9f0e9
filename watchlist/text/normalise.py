"""Script folding: one spelling for a word whether it is written in Kazakh Cyrillic, Russian Cyrillic or Latin.

`fold("Нұртілеу") == fold("Нуртилеу") == fold("Nurtileu") == "nurtileu"`. Kazakh letters are folded to their
Russian neighbours (ә->а, қ->к, ұ->у, і->и ...), everything is transliterated to ASCII with `anyascii`, and the
usual differences between transliteration schemes are then erased: zh/j, kh/h, q/k, y/i, a doubled letter, and
the "ye"/"ie" that some schemes write for Russian е (Yerlan, Tokayev). What is left is a skeleton, not a
pronunciation: it is only ever compared with other skeletons.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from anyascii import anyascii

_KAZAKH_TO_RUSSIAN = str.maketrans("әғқңөұүһі", "агкноуухи")
# Latin letters of the Kazakh and Turkish alphabets that anyascii would fold to a single letter.
_LATIN_DIGRAPHS = str.maketrans({"ş": "sh", "ç": "ch", "ı": "i"})
_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")
_SCHEME_DIFFERENCES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"dzh|zh|dj"), "j"),
    (re.compile(r"kh"), "h"),
    (re.compile(r"q"), "k"),
    (re.compile(r"y"), "i"),
    (re.compile(r"(.)\1+"), r"\1"),
    (re.compile(r"^ie"), "e"),
    (re.compile(r"([aeou])ie"), r"\1e"),
)
WORD = re.compile(r"[^\W_]+")


def fold(word: str) -> str:
    """The skeleton of one word (or of a phrase, its words run together)."""
    ascii_form = anyascii(word.lower().translate(_KAZAKH_TO_RUSSIAN).translate(_LATIN_DIGRAPHS)).lower()
    folded = _NOT_ALPHANUMERIC.sub("", ascii_form)
    for pattern, replacement in _SCHEME_DIFFERENCES:
        folded = pattern.sub(replacement, folded)
    return folded


@dataclass(frozen=True)
class Token:
    start: int
    end: int
    text: str


def tokens(text: str) -> Iterator[Token]:
    """The words of a text with their offsets; a hyphen, an apostrophe or punctuation ends a word."""
    for found in WORD.finditer(text):
        yield Token(found.start(), found.end(), found.group())
