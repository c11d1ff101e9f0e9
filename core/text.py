"""Text that can be stored and sent: no lone surrogates.

A Python string can hold a code point of U+D800-U+DFFF on its own (JSON's `"\\ud83d"` decodes to one), but UTF-8
cannot encode it, so PostgreSQL, SQLite and every JSON answer or webhook body fail on it. Input with one is refused
at the edge; text stored before that was the rule is shown with U+FFFD (the replacement character) in its place.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def has_lone_surrogate(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def without_lone_surrogates(text: str) -> str:
    """The text with each lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT, text)


def utf8(text: str) -> bytes:
    """The text as UTF-8, with U+FFFD in place of any lone surrogate instead of a `UnicodeEncodeError`."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return without_lone_surrogates(text).encode("utf-8")
