"""Which channels a post points to: its forward's origin, the `t.me/<name>` links and the `@name` mentions in its
text. Pure functions, no database."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.telegram import is_username

_LINK = re.compile(
    r"(?<![\w.])(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?(?P<name>[A-Za-z][A-Za-z0-9_]{3,31})\b",
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@/.])@(?P<name>[A-Za-z][A-Za-z0-9_]{3,31})\b")
_FORWARD_USERNAME = re.compile(r"\(@(?P<name>[A-Za-z][A-Za-z0-9_]{3,31})\)\s*$")
NOT_CHANNELS = frozenset(
    {"joinchat", "addstickers", "addemoji", "addlist", "share", "proxy", "socks", "setlanguage", "login", "iv",
     "contact", "boost", "addtheme", "confirmphone", "invoice", "giftcode"}
)  # fmt: skip
"""Paths of t.me that are not channels."""


@dataclass(frozen=True)
class Pointer:
    """A channel a post points to: by username (lower-cased), or by name only for a forward without one."""

    via: str
    username: str | None
    name: str | None = None

    @property
    def key(self) -> str:
        return self.username or f"name:{(self.name or '').strip().lower()}"


def pointers(text: str, forwarded_from: str | None, forwarded_username: str | None, own_channel: str) -> list[Pointer]:
    """Every channel the post points to, once each (forward before link before mention), leaving out its own."""
    found: dict[str, Pointer] = {}
    own = own_channel.lower()
    forward = _forward_pointer(forwarded_from, forwarded_username)
    candidates = [forward] if forward is not None else []
    candidates += [Pointer("link", m["name"].lower()) for m in _LINK.finditer(text or "")]
    candidates += [Pointer("mention", m["name"].lower()) for m in _MENTION.finditer(text or "")]
    for pointer in candidates:
        if pointer.username is not None and (not is_username(pointer.username) or pointer.username in NOT_CHANNELS):
            continue
        if pointer.username == own or pointer.key in found:
            continue
        found[pointer.key] = pointer
    return list(found.values())


_NOT_AN_ORIGIN = re.compile(r"^(?:a hidden sender|an unknown sender|user id \d+)$")
"""What `watchers.sources.telegram.describe_forward` says when it knows no channel."""


def _forward_pointer(forwarded_from: str | None, forwarded_username: str | None) -> Pointer | None:
    if not forwarded_username and (not forwarded_from or _NOT_AN_ORIGIN.match(forwarded_from)):
        return None
    username = forwarded_username
    if username is None and forwarded_from:
        match = _FORWARD_USERNAME.search(forwarded_from)
        username = match["name"] if match else None
    name = forwarded_from
    if name and username:
        name = _FORWARD_USERNAME.sub("", name).strip() or None
    return Pointer("forward", username.lower() if username else None, name)
