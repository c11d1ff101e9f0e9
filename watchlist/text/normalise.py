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


# Letters that look the same in both alphabets. A word that mixes them (Нуpтлeу with a Latin p and e, a trick
# to slip past filters) is read in the alphabet most of its letters are in.
_LATIN_LOOKALIKES = "aeopcxykAEOPCXYKBHMT"
_CYRILLIC_LOOKALIKES = "аеорсхукАЕОРСХУКВНМТ"
_TO_CYRILLIC = str.maketrans(_LATIN_LOOKALIKES, _CYRILLIC_LOOKALIKES)
_TO_LATIN = str.maketrans(_CYRILLIC_LOOKALIKES + "іІ", _LATIN_LOOKALIKES + "iI")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-zA-Z]")


def one_alphabet(word: str) -> str:
    """The word with look-alike letters of the other alphabet replaced, when it mixes Cyrillic and Latin."""
    cyrillic = len(_CYRILLIC.findall(word))
    latin = len(_LATIN.findall(word))
    if not cyrillic or not latin:
        return word
    return word.translate(_TO_CYRILLIC if cyrillic >= latin else _TO_LATIN)


def fold(word: str) -> str:
    """The skeleton of one word (or of a phrase, its words run together)."""
    ascii_form = anyascii(one_alphabet(word).lower().translate(_KAZAKH_TO_RUSSIAN).translate(_LATIN_DIGRAPHS)).lower()
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
