"""The one rule for a public Telegram username, shared by every source and by a person's official channels.

Telegram's rule: 5 to 32 characters, ASCII letters, digits and underscores, starting with a letter and not ending
with an underscore. Usernames are case-insensitive. A channel may be named as `name`, `@name`, `t.me/name`,
`https://t.me/s/name` (also `telegram.me`, `telegram.dog`, a post link `t.me/name/123`, a query or a fragment).
Invite links (`t.me/+...`, `t.me/joinchat/...`) name private chats, which cannot be watched; they are refused with
a reason of their own.
"""

from __future__ import annotations

import re

USERNAME_RULE = "5-32 letters, digits or underscores, starting with a letter"
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9]")
_HOST = r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/"
_INVITE_LINK = re.compile(rf"{_HOST}(?:\+|joinchat/)", re.IGNORECASE)
_CHANNEL_LINK = re.compile(rf"{_HOST}(?:s/)?(?P<name>[^/?#]+)(?:/\d+)?/?(?:[?#].*)?", re.IGNORECASE)
_PLAIN_NAME = re.compile(r"@?(?P<name>[^/?#@\s]+)")


def is_username(name: str) -> bool:
    """Whether `name` (without "@") is a valid public Telegram username."""
    return _USERNAME.fullmatch(name) is not None


def username_as_written(reference: str) -> str:
    """The username a channel reference names, in the case it was written; ValueError saying what is accepted."""
    text = reference.strip()
    if _INVITE_LINK.match(text):
        raise ValueError(
            f"{reference!r} is an invite link, not a public channel username: only public channels can be watched, "
            "by their username (@name)"
        )
    match = _PLAIN_NAME.fullmatch(text) or _CHANNEL_LINK.fullmatch(text)
    if match is None or not is_username(match["name"]):
        raise ValueError(
            f"{reference!r} is not a Telegram channel: it is not a public channel username ({USERNAME_RULE}) "
            "given as name, @name, t.me/name or https://t.me/s/name"
        )
    return match["name"]


def channel_username(reference: str) -> str:
    """The username a channel reference names, lower-cased (Telegram usernames are case-insensitive)."""
    return username_as_written(reference).lower()


def bare_username(value: str) -> str:
    """A username given alone (`name` or `@name`, no link), lower-cased; ValueError otherwise."""
    name = value.strip().removeprefix("@")
    if not is_username(name):
        raise ValueError(
            f"{value!r} is not a public Telegram username: give the username alone, name or @name ({USERNAME_RULE})"
        )
    return name.lower()
