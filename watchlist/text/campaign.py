"""Campaign terms: the operator's words and phrases ("контракт", "Бессмертный полк", "Өлмес полк") in a text.

A term is found when all its words stand one after the other in the text, each in any script and with any case
ending, as names are (`watchlist.text.index`). Misspellings are not tolerated: a term is an ordinary word, and
its near neighbours are other words (контракт, контакт).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from watchlist.text.index import TokenIndex
from watchlist.text.normalise import fold, tokens


@lru_cache(maxsize=64)
def _index(terms: tuple[str, ...]) -> tuple[TokenIndex[tuple[int, int]], tuple[int, ...]]:
    index: TokenIndex[tuple[int, int]] = TokenIndex(misspellings=False)
    lengths = []
    for term_number, term in enumerate(terms):
        words = [fold(token.text) for token in tokens(term)]
        words = [word for word in words if word]
        for word_number, word in enumerate(words):
            index.add(word, (term_number, word_number))
        lengths.append(len(words))
    return index, tuple(lengths)


def campaign_terms_in(text: str, terms: Sequence[str]) -> list[str]:
    """The terms found in the text, as configured, in the order configured."""
    index, lengths = _index(tuple(terms))
    at: dict[tuple[int, int], set[int]] = {}
    for position, token in enumerate(tokens(text)):
        for hit in index.lookup(fold(token.text)):
            at.setdefault(hit.key, set()).add(position)
    found = []
    for term_number, length in enumerate(lengths):
        starts = at.get((term_number, 0), set()) if length else set()
        if any(all(start + word in at.get((term_number, word), ()) for word in range(1, length)) for start in starts):
            found.append(terms[term_number])
    return found
