"""Public Telegram channels read through MTProto (Telethon), with the installation's Telegram account.

How posts are read:
- With a cursor (the id of the newest message already seen), `iter_messages(channel, min_id=cursor,
  reverse=True)`: every message with a larger id, oldest first.
- Without one (a new watch), `iter_messages(channel)` newest first, turned around: a new watch starts with the
  channel's latest `limit` posts instead of its whole history.

An album (photos and videos sent together) is several messages sharing a `grouped_id`; it becomes ONE post with
all their media. Its `message_id` is the album's LARGEST message id, so the post's cursor covers every message
of the album and a restart neither repeats nor re-splits it; its permalink points at the album's first message.
Albums are only yielded whole: an album is known to be complete when a message outside it follows, or when the
history ends (Telegram stores all messages of an album at once). Service messages (pins, title changes) are not
posts.

The Telegram client is shared process-wide through a `TelegramGateway` (watchers.telegram_client), which runs
Telethon's coroutines on its own event-loop thread; this module's public methods are synchronous.

Telethon takes seconds to import, so it is imported by the functions that use it: the config is read (every CLI
command that lists watches does) without it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import field_validator

from core.telegram import channel_username
from watchers.sources.base import (
    FetchedPost,
    HistoryBatch,
    MediaKind,
    MediaRef,
    NeedsAttention,
    RetryLater,
    SourceConfigBase,
    SourceContext,
    SourceError,
)
from watchers.sources.helpers import CappedWriter, parse_cursor, refuse_declared_size
from watchers.sources.media_kinds import KindDecision, decide_kind
from watchers.telegram_client import TelegramGateway

if TYPE_CHECKING:
    from telethon import errors
    from telethon.tl import types
    from telethon.tl.custom.message import Message

    from watchers.telegram_peers import PeerCache

T = TypeVar("T")

SHORT_FLOOD_WAIT_SECONDS = 30
"""A flood wait this short is slept through in the worker thread; a longer one reschedules the watch."""
MAX_SHORT_WAITS_PER_CALL = 3
DEFAULT_FLOOD_WAIT_SECONDS = 60.0
NETWORK_RETRY_SECONDS = 60.0
SERVER_RETRY_SECONDS = 60.0
PERMALINK_BASE = "https://t.me"
HISTORY_POSTS_PER_BATCH = 100
"""Posts a history request stands for (Telegram answers up to 100 messages a request)."""

NO_ACCOUNT_REASON = (
    "no Telegram account configured: set IMPWATCH_TELEGRAM_API_ID, IMPWATCH_TELEGRAM_API_HASH and "
    "IMPWATCH_TELEGRAM_SESSION (impwatch telegram login)"
)


class TelegramConfig(SourceConfigBase):
    """A public Telegram channel (or public supergroup), read with the installation's Telegram account."""

    kind: Literal["telegram"] = "telegram"
    channel: str

    @field_validator("channel")
    @classmethod
    def _normalise_channel(cls, value: str) -> str:
        return channel_username(value)


class TelegramSource:
    """Reads one channel through the process's shared `TelegramGateway` (`context.telegram_client`).

    `sleep` is how short flood waits are waited out; injectable so tests need not wait.
    """

    def __init__(
        self,
        config: TelegramConfig,
        context: SourceContext,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._config = config
        self._gateway = context.telegram_client
        self._peers: PeerCache | None = context.telegram_peers  # type: ignore[assignment]  # object on the context
        self._sleep = sleep

    def fetch(self, cursor: str | None, limit: int) -> Iterator[FetchedPost]:
        """Yield at most `limit` whole posts after `cursor`, oldest first (no cursor: the latest posts)."""
        after_id = parse_cursor(cursor, "a Telegram message id")
        if limit <= 0:
            return
        gateway = self._require_gateway()
        peer = self._resolve_channel(gateway, self._config.channel)
        if after_id is None:
            albums = self._call(gateway, lambda client: _latest_albums(client, peer, limit))
        else:
            albums = self._call(gateway, lambda client: _albums_after(client, peer, after_id, limit))
        for album in albums:
            yield self._to_post(album)

    def fetch_history(self, since: datetime, position: str | None, max_pages: int) -> HistoryBatch:
        """The channel's posts from `since` on, oldest first: `iter_messages(offset_date=since, reverse=True)`, then
        on from the last post read (`position`), at most `max_pages` batches of posts a run; complete when the
        history up to now was read (posts the live cursor already read are skipped by the pipeline)."""
        after_id = parse_cursor(position, "a Telegram message id")
        gateway = self._require_gateway()
        peer = self._resolve_channel(gateway, self._config.channel)
        wanted = max(1, max_pages) * HISTORY_POSTS_PER_BATCH
        albums = self._call(gateway, lambda client: _albums_since(client, peer, since, after_id, wanted + 1))
        posts = tuple(self._to_post(album) for album in albums[:wanted])
        last = str(posts[-1].message_id) if posts else position
        return HistoryBatch(posts=posts, position=last, complete=len(albums) <= wanted)

    def fetch_recent(self, since: datetime, max_pages: int) -> list[FetchedPost]:
        """The posts published from `since` on as they are now (edits included): `iter_messages(offset_date=since,
        reverse=True)`, at most `max_pages` batches of posts."""
        gateway = self._require_gateway()
        peer = self._resolve_channel(gateway, self._config.channel)
        wanted = max(1, max_pages) * HISTORY_POSTS_PER_BATCH
        albums = self._call(gateway, lambda client: _albums_since(client, peer, since, None, wanted))
        return [self._to_post(album) for album in albums]

    def download(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        """Write the media's bytes to `dest`. MediaTooLarge before downloading when Telegram's declared size is
        over `max_bytes`, and during the download if more bytes than that arrive anyway."""
        channel, message_id = parse_locator(media.locator)
        gateway = self._require_gateway()
        peer = self._resolve_channel(gateway, channel)
        message = self._call(gateway, lambda client: client.get_messages(peer, ids=message_id))
        if message is None or media_kind(message) is None:
            raise NeedsAttention(f"Telegram message {media.locator} was deleted or no longer has media")
        refuse_declared_size(message.file.size, max_bytes)
        writer = CappedWriter(dest, max_bytes)
        result = self._call(
            gateway,
            lambda client: client.download_media(message, file=writer),
            can_repeat=lambda: writer.written == 0,
        )
        if result is None:
            raise NeedsAttention(f"Telegram message {media.locator} has no downloadable media")

    def _require_gateway(self) -> TelegramGateway:
        if self._gateway is None:
            raise NeedsAttention(NO_ACCOUNT_REASON)
        if not isinstance(self._gateway, TelegramGateway):
            raise TypeError(
                "SourceContext.telegram_client must be a watchers.telegram_client.TelegramGateway, "
                f"not {type(self._gateway).__name__}"
            )
        return self._gateway

    def _resolve_channel(self, gateway: TelegramGateway, channel: str) -> types.InputPeerChannel:
        """The channel's input peer: from the installation's peer cache when it was resolved before (even by
        another process, or before a restart), else by `get_input_entity`, which answers from the session's entity
        cache or resolves the username (contacts.resolveUsername, which Telegram rate-limits hard)."""
        from telethon.tl import types

        cached = self._peers.get(channel) if self._peers is not None else None
        if cached is not None:
            return types.InputPeerChannel(channel_id=cached[0], access_hash=cached[1])
        try:
            peer = self._call(gateway, lambda client: client.get_input_entity(channel))
        except ValueError as exc:
            raise NeedsAttention(f"no public Telegram channel is called @{channel}") from exc
        if not isinstance(peer, types.InputPeerChannel):
            raise NeedsAttention(f"@{channel} is a Telegram user or bot, not a channel")
        if self._peers is not None:
            self._peers.put(channel, peer.channel_id, peer.access_hash)
        return peer

    def _call(
        self,
        gateway: TelegramGateway,
        make_call: Callable[[Any], Coroutine[Any, Any, T]],
        *,
        can_repeat: Callable[[], bool] = lambda: True,
    ) -> T:
        """Run one client call on the gateway, waiting out short flood waits, and turn Telegram's and the
        network's failures into the source's typed errors. `can_repeat` says whether the call may run again
        after a short wait or a reconnection (a half-written download may not).

        No call goes out while the account is under a long flood wait (`gateway.limiter`, shared by every watch of
        the account): the watch is rescheduled for when it ends. A client Telethon left disconnected is connected
        again first, and a call that failed because the connection dropped is tried once more on a new one."""
        from telethon import errors

        short_waits = 0
        reconnected = False
        while True:
            self._refuse_while_account_waits(gateway)
            try:
                gateway.reconnect_if_dropped()
                return gateway.run(make_call(gateway.client))
            except errors.FloodError as exc:
                seconds = getattr(exc, "seconds", None) or DEFAULT_FLOOD_WAIT_SECONDS
                if seconds > SHORT_FLOOD_WAIT_SECONDS:
                    gateway.limiter.block(seconds)
                if seconds > SHORT_FLOOD_WAIT_SECONDS or short_waits >= MAX_SHORT_WAITS_PER_CALL or not can_repeat():
                    raise RetryLater(
                        seconds, f"Telegram asks to wait {seconds} s before reading @{self._config.channel}"
                    ) from exc
                short_waits += 1
                self._sleep(seconds)
            except ConnectionError as exc:
                if reconnected or not can_repeat() or not _reconnects(gateway):
                    raise self._typed_error(exc) from exc
                reconnected = True
            except (errors.RPCError, OSError) as exc:
                raise self._typed_error(exc) from exc

    def _refuse_while_account_waits(self, gateway: TelegramGateway) -> None:
        remaining = gateway.limiter.remaining()
        if remaining > 0:
            raise RetryLater(
                remaining,
                f"the Telegram account is waiting out a flood wait ({remaining:.0f} s left); "
                f"@{self._config.channel} is read after it",
            )

    def _typed_error(self, exc: errors.RPCError | OSError) -> SourceError:
        from telethon import errors

        channel = f"@{self._config.channel}"
        if isinstance(exc, OSError):
            return RetryLater(NETWORK_RETRY_SECONDS, f"cannot reach Telegram: {str(exc) or type(exc).__name__}")
        if isinstance(exc, errors.ChannelPrivateError):
            return NeedsAttention(f"{channel} is private, or this Telegram account was banned from it")
        if isinstance(exc, errors.UsernameNotOccupiedError | errors.UsernameInvalidError):
            return NeedsAttention(f"no public Telegram channel is called {channel}")
        if isinstance(exc, errors.ChannelInvalidError):
            if self._peers is not None:
                self._peers.forget(self._config.channel)
            return NeedsAttention(f"Telegram says {channel} is not a valid channel")
        if isinstance(exc, errors.BotMethodInvalidError):
            return NeedsAttention(
                "a Telegram bot account cannot read channel history: log in with a user account "
                "(impwatch telegram login)"
            )
        if isinstance(exc, errors.UnauthorizedError | errors.AuthKeyError):
            return NeedsAttention(
                f"the Telegram session no longer works ({exc}): log in again with impwatch telegram login"
            )
        if isinstance(exc, errors.ServerError | errors.TimedOutError) or (exc.code or 0) >= 500:
            return RetryLater(SERVER_RETRY_SECONDS, f"Telegram server error: {exc}")
        return NeedsAttention(f"Telegram refused to read {channel}: {exc}")

    def _to_post(self, album: list[Message]) -> FetchedPost:
        channel = self._config.channel
        first, last = album[0], album[-1]
        return FetchedPost(
            message_id=last.id,
            channel=channel,
            permalink=f"{PERMALINK_BASE}/{channel}/{first.id}",
            date=first.date,
            text="\n\n".join(message.message for message in album if message.message),
            forwarded_from=_album_forward_origin(album),
            media=tuple(ref for message in album if (ref := _media_ref(channel, message)) is not None),
            urls=tuple(dict.fromkeys(url for message in album for url in message_urls(message))),
            phone_entities=tuple(dict.fromkeys(phone for message in album for phone in phone_entities(message))),
            preview="\n".join(preview for message in album if (preview := link_preview(message))),
        )


Config = TelegramConfig
Source = TelegramSource


def media_kind(message: Message) -> MediaKind | None:
    """What a message's media is for face matching; None for media that is not looked at (audio, polls, link
    previews, other files) and for an animated sticker, kept but skipped (`watchers.sources.media_kinds`)."""
    decision = kind_decision(message)
    return decision.kind if decision is not None and decision.skipped is None else None


def kind_decision(message: Message) -> KindDecision | None:
    """The shared rule (`watchers.sources.media_kinds`) applied to a message's photo or document: by its MIME type
    and Telegram's own flags, not by Telethon's video attribute alone (a `.MOV` sent as a file has none)."""
    from telethon.tl import types

    if isinstance(message.media, types.MessageMediaPhoto):
        return KindDecision(MediaKind.PHOTO) if message.photo is not None else None
    if not isinstance(message.media, types.MessageMediaDocument) or message.document is None:
        return None
    return decide_kind(
        message.document.mime_type,
        file_name=message.file.name if message.file is not None else None,
        round_video=message.video_note is not None,
        animation=message.gif is not None,
        sticker=message.sticker is not None,
    )


def message_urls(message: Message) -> list[str]:
    """Every link of a message: hidden behind text (`MessageEntityTextUrl`), written out (`MessageEntityUrl`), and
    its link preview's page."""
    from telethon.tl import types

    urls = []
    for entity, text in _entities_text(message):
        if isinstance(entity, types.MessageEntityTextUrl) and entity.url:
            urls.append(entity.url)
        elif isinstance(entity, types.MessageEntityUrl) and text:
            urls.append(text)
    page = _web_page(message)
    if page is not None and getattr(page, "url", None):
        urls.append(page.url)
    return urls


def phone_entities(message: Message) -> list[str]:
    """The text Telegram marked as phone numbers in a message (`MessageEntityPhone`)."""
    from telethon.tl import types

    return [text for entity, text in _entities_text(message) if isinstance(entity, types.MessageEntityPhone) and text]


def link_preview(message: Message) -> str:
    """A message's link preview: its site name, title and description, one a line (the parts it has)."""
    page = _web_page(message)
    if page is None:
        return ""
    parts = (getattr(page, name, None) for name in ("site_name", "title", "description"))
    return "\n".join(part.strip() for part in parts if isinstance(part, str) and part.strip())


def _entities_text(message: Message) -> list[tuple[Any, str]]:
    """Each entity with the text it covers (Telethon counts the offsets in UTF-16, as Telegram does)."""
    if not message.message or not message.entities:
        return []
    return list(message.get_entities_text())


def _web_page(message: Message) -> Any:
    from telethon.tl import types

    if not isinstance(message.media, types.MessageMediaWebPage):
        return None
    return message.media.webpage


def make_locator(channel: str, message_id: int) -> str:
    return f"{channel}/{message_id}"


def parse_locator(locator: str) -> tuple[str, int]:
    """(channel, message id) from "<channel>/<message id>"; ValueError for anything else."""
    channel, _, raw_id = locator.rpartition("/")
    try:
        message_id = int(raw_id)
        channel = channel_username(channel)
    except ValueError:
        raise ValueError(f"{locator!r} is not a Telegram media locator (<channel>/<message id>)") from None
    if message_id <= 0:
        raise ValueError(f"{locator!r} is not a Telegram media locator (<channel>/<message id>)")
    return channel, message_id


def describe_forward(message: Message) -> str | None:
    """Who a forwarded message came from, readably: the name Telegram shows, else the origin's id."""
    header = message.fwd_from
    if header is None:
        return None
    if header.from_name:
        return header.from_name
    forward = message.forward
    origin = forward and (forward.chat or forward.sender)
    if origin is not None:
        return _describe_entity(origin)
    if header.from_id is not None:
        return _describe_peer(header.from_id)
    return "a hidden sender"


async def _albums_after(client: Any, peer: types.InputPeerChannel, after_id: int, limit: int) -> list[list[Message]]:
    messages = client.iter_messages(peer, min_id=after_id, reverse=True)
    return await _complete_albums(messages, limit)


def _reconnects(gateway: TelegramGateway) -> bool:
    """Whether the dropped connection was made again (a failed attempt is the network's failure: False)."""
    try:
        return gateway.reconnect_if_dropped()
    except OSError:
        return False


async def _albums_since(
    client: Any, peer: types.InputPeerChannel, since: datetime, after_id: int | None, limit: int
) -> list[list[Message]]:
    if after_id is None:
        messages = client.iter_messages(peer, offset_date=since, reverse=True)
    else:
        messages = client.iter_messages(peer, min_id=after_id, reverse=True)
    return await _complete_albums(messages, limit)


async def _latest_albums(client: Any, peer: types.InputPeerChannel, limit: int) -> list[list[Message]]:
    newest_first = await _complete_albums(client.iter_messages(peer), limit)
    return [list(reversed(album)) for album in reversed(newest_first)]


async def _complete_albums(messages: AsyncIterator[Message], wanted: int) -> list[list[Message]]:
    """Up to `wanted` posts from `messages`, each a run of messages of one album (or a single message), in the
    order given. The last run is only kept when known complete: a message outside it followed, or the history
    ended. No `limit` is passed to Telegram because one post may be up to ten messages."""
    albums: list[list[Message]] = []
    async for message in messages:
        if not _is_post(message):
            continue
        if albums and _same_album(albums[-1][-1], message):
            albums[-1].append(message)
        elif len(albums) == wanted:
            break
        else:
            albums.append([message])
    return albums


def _is_post(message: Message) -> bool:
    from telethon.tl import types

    return isinstance(message, types.Message)


def _same_album(a: Message, b: Message) -> bool:
    return a.grouped_id is not None and a.grouped_id == b.grouped_id


def _media_ref(channel: str, message: Message) -> MediaRef | None:
    decision = kind_decision(message)
    if decision is None:
        return None
    file = message.file
    return MediaRef(
        kind=decision.kind,
        locator=make_locator(channel, message.id),
        file_name=file.name,
        mime_type=file.mime_type,
        size=file.size,
        skipped=decision.skipped,
    )


def _album_forward_origin(album: list[Message]) -> str | None:
    for message in album:
        origin = describe_forward(message)
        if origin is not None:
            return origin
    return None


def _describe_entity(entity: Any) -> str:
    name = getattr(entity, "title", None) or " ".join(
        part for part in (getattr(entity, "first_name", None), getattr(entity, "last_name", None)) if part
    )
    username = getattr(entity, "username", None)
    if name and username:
        return f"{name} (@{username})"
    if name or username:
        return name or f"@{username}"
    return _describe_peer(entity)


def _describe_peer(peer: Any) -> str:
    from telethon.tl import types

    if isinstance(peer, types.PeerChannel | types.Channel):
        return f"channel id {getattr(peer, 'channel_id', None) or peer.id}"
    if isinstance(peer, types.PeerUser | types.User):
        return f"user id {getattr(peer, 'user_id', None) or peer.id}"
    if isinstance(peer, types.PeerChat):
        return f"chat id {peer.chat_id}"
    return "an unknown sender"
