"""A stand-in for `telethon.TelegramClient`, for tests: Telegram's servers cannot be reached from here.

It keeps a small world of channels and messages in memory and answers the client methods the telegram source
and the gateway call, with Telethon's own names, signatures and semantics (`iter_messages` with `min_id`,
`reverse`, `offset_date` and `limit`, `get_messages(..., ids=...)`, `download_media(message, file=...)`).
Everything it returns is a REAL Telethon object: messages are built as `telethon.tl.types.Message`, sent
through Telethon's TL serialisation and back (as if they came off the wire) and finished with
`Message._finish_init(client, entities, input_chat)` as Telethon's own iterators do, so `.photo`, `.video`,
`.gif`, `.video_note`, `.file`, `.forward` are Telethon's real properties. Failures are Telethon's real errors,
raised on demand with `fail_next`.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import os
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from telethon import errors, utils
from telethon._updates import EntityCache
from telethon.crypto import AuthKey
from telethon.extensions import BinaryReader
from telethon.sessions import StringSession
from telethon.tl import types

CHUNK_SIZE = 128 * 1024  # what Telethon asks per request for files up to 100 MB
FIRST_DATE = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
TELEGRAM_DC = (2, "149.154.167.51", 443)

_ids = itertools.count(1_000_001)


@dataclass(frozen=True)
class FakeMedia:
    """A message's media as Telegram describes it, and the bytes a download of it returns."""

    media: types.MessageMediaPhoto | types.MessageMediaDocument | types.MessageMediaWebPage
    data: bytes


def photo(data: bytes, *, declared_size: int | None = None, width: int = 320, height: int = 240) -> FakeMedia:
    """A photo; `declared_size` is the size Telegram announces (default: the real size)."""
    size = len(data) if declared_size is None else declared_size
    tl_photo = types.Photo(
        id=next(_ids),
        access_hash=next(_ids),
        file_reference=b"ref",
        date=FIRST_DATE,
        sizes=[
            types.PhotoStrippedSize(type="i", bytes=b"\x01\x28\x28"),
            types.PhotoSize(type="m", w=width // 4, h=height // 4, size=max(size // 16, 1)),
            types.PhotoSize(type="y", w=width, h=height, size=size),
        ],
        dc_id=TELEGRAM_DC[0],
    )
    return FakeMedia(types.MessageMediaPhoto(photo=tl_photo), data)


def document(
    data: bytes,
    mime_type: str,
    attributes: list[Any] | None = None,
    *,
    declared_size: int | None = None,
    video: bool | None = None,
    round_: bool | None = None,
) -> FakeMedia:
    tl_document = types.Document(
        id=next(_ids),
        access_hash=next(_ids),
        file_reference=b"ref",
        date=FIRST_DATE,
        mime_type=mime_type,
        size=len(data) if declared_size is None else declared_size,
        dc_id=TELEGRAM_DC[0],
        attributes=attributes or [],
    )
    return FakeMedia(types.MessageMediaDocument(document=tl_document, video=video, round=round_), data)


def video(data: bytes, *, file_name: str = "clip.mp4", declared_size: int | None = None) -> FakeMedia:
    attributes = [
        types.DocumentAttributeVideo(duration=9.2, w=640, h=360, supports_streaming=True),
        types.DocumentAttributeFilename(file_name=file_name),
    ]
    return document(data, "video/mp4", attributes, declared_size=declared_size, video=True)


def round_video(data: bytes) -> FakeMedia:
    """A video message (the round ones), as Telegram sends it: a square mp4 with `round_message`."""
    attributes = [types.DocumentAttributeVideo(duration=9.2, w=360, h=360, round_message=True)]
    return document(data, "video/mp4", attributes, video=True, round_=True)


def gif(data: bytes) -> FakeMedia:
    """A "GIF" as Telegram stores it: a silent mp4 marked animated (it carries a video attribute too)."""
    attributes = [
        types.DocumentAttributeVideo(duration=9.2, w=640, h=360, nosound=True),
        types.DocumentAttributeAnimated(),
        types.DocumentAttributeFilename(file_name="animation.gif.mp4"),
    ]
    return document(data, "video/mp4", attributes)


def image_file(data: bytes, *, file_name: str = "photo.jpg", mime_type: str = "image/jpeg") -> FakeMedia:
    """An image sent "as a file" (uncompressed), not as a photo."""
    attributes = [types.DocumentAttributeImageSize(w=320, h=240), types.DocumentAttributeFilename(file_name=file_name)]
    return document(data, mime_type, attributes)


def sticker(data: bytes) -> FakeMedia:
    attributes = [
        types.DocumentAttributeImageSize(w=512, h=512),
        types.DocumentAttributeSticker(alt=":)", stickerset=types.InputStickerSetEmpty()),
        types.DocumentAttributeFilename(file_name="sticker.webp"),
    ]
    return document(data, "image/webp", attributes)


def animated_sticker(data: bytes) -> FakeMedia:
    """A Lottie sticker as Telegram sends it: gzip'd JSON, `application/x-tgsticker`."""
    attributes = [
        types.DocumentAttributeImageSize(w=512, h=512),
        types.DocumentAttributeSticker(alt="🎉", stickerset=types.InputStickerSetEmpty()),
        types.DocumentAttributeFilename(file_name="AnimatedSticker.tgs"),
    ]
    return document(data, "application/x-tgsticker", attributes)


def video_as_file(data: bytes, *, file_name: str = "IMG_0412.MOV", mime_type: str = "video/quicktime") -> FakeMedia:
    """A video sent "as a file" from a phone: a plain document, only a file name, no video attribute."""
    return document(data, mime_type, [types.DocumentAttributeFilename(file_name=file_name)])


def voice_note(data: bytes) -> FakeMedia:
    return document(data, "audio/ogg", [types.DocumentAttributeAudio(duration=3, voice=True)])


def pdf(data: bytes) -> FakeMedia:
    return document(data, "application/pdf", [types.DocumentAttributeFilename(file_name="statement.pdf")])


def web_page(url: str, *, site_name: str = "", title: str = "", description: str = "") -> FakeMedia:
    """A link preview, as Telegram attaches it to a message that links to a page (nothing to download)."""
    page = types.WebPage(
        id=next(_ids),
        url=url,
        display_url=url.split("://", 1)[-1],
        hash=0,
        site_name=site_name or None,
        title=title or None,
        description=description or None,
    )
    return FakeMedia(types.MessageMediaWebPage(webpage=page), b"")


def entity(
    text: str, fragment: str, kind: type[types.TypeMessageEntity] = types.MessageEntityUrl, **fields: Any
) -> types.TypeMessageEntity:
    """The entity of `kind` over the first `fragment` of `text`, its offsets in UTF-16 code units, as Telegram
    counts them (an emoji before it takes two)."""
    start = text.index(fragment)
    offset = len(text[:start].encode("utf-16-le")) // 2
    return kind(offset=offset, length=len(fragment.encode("utf-16-le")) // 2, **fields)


def forward_from_channel(channel_id: int, post_id: int = 1) -> types.MessageFwdHeader:
    return types.MessageFwdHeader(
        date=FIRST_DATE - timedelta(days=1), from_id=types.PeerChannel(channel_id), channel_post=post_id
    )


def forward_from_hidden_user(name: str) -> types.MessageFwdHeader:
    """A forward from a user who hides their account: Telegram gives only the name."""
    return types.MessageFwdHeader(date=FIRST_DATE - timedelta(days=1), from_name=name)


class FakeChannel:
    """A channel of the fake world; posting assigns message ids the way Telegram does (one counter per channel)."""

    def __init__(self, entity: types.Channel, *, private: bool) -> None:
        self.entity = entity
        self.private = private
        self.messages: dict[int, types.Message | types.MessageService] = {}
        self.media_data: dict[int, bytes] = {}
        self._next_id = 1

    @property
    def id(self) -> int:
        return self.entity.id

    def post(
        self,
        text: str = "",
        *,
        media: FakeMedia | None = None,
        forwarded: types.MessageFwdHeader | None = None,
        grouped_id: int | None = None,
        entities: list[types.TypeMessageEntity] | None = None,
    ) -> int:
        message_id = self._take_id()
        self.messages[message_id] = types.Message(
            id=message_id,
            peer_id=types.PeerChannel(self.id),
            date=FIRST_DATE + timedelta(minutes=message_id),
            message=text,
            post=True,
            media=media.media if media else None,
            fwd_from=forwarded,
            grouped_id=grouped_id,
            entities=entities,
        )
        if media is not None and not isinstance(media.media, types.MessageMediaWebPage):
            self.media_data[_media_id(media.media)] = media.data
        return message_id

    def post_album(
        self, media: list[FakeMedia], text: str = "", *, forwarded: types.MessageFwdHeader | None = None
    ) -> list[int]:
        """Media sent together: consecutive messages sharing a grouped_id, the caption on the first."""
        grouped_id = next(_ids)
        return [
            self.post(text if index == 0 else "", media=item, forwarded=forwarded, grouped_id=grouped_id)
            for index, item in enumerate(media)
        ]

    def pin(self, message_id: int) -> int:
        """Pinning posts a service message ("... pinned a message"), which is not a post."""
        service_id = self._take_id()
        self.messages[service_id] = types.MessageService(
            id=service_id,
            peer_id=types.PeerChannel(self.id),
            date=FIRST_DATE + timedelta(minutes=service_id),
            post=True,
            reply_to=types.MessageReplyHeader(reply_to_msg_id=message_id),
            action=types.MessageActionPinMessage(),
        )
        return service_id

    def edit(self, message_id: int, media: FakeMedia) -> None:
        """Replace a message's media, as an edit does: the same id, another file, `edit_date` set."""
        old = self.messages[message_id]
        old.media, old.edit_date = media.media, old.date + timedelta(hours=1)
        self.media_data[_media_id(media.media)] = media.data

    def delete(self, message_id: int) -> None:
        del self.messages[message_id]

    def _take_id(self) -> int:
        message_id = self._next_id
        self._next_id += 1
        return message_id


class FakeSession:
    """What `client.session` offers after a login: a real StringSession holding an authorisation key."""

    def __init__(self) -> None:
        self._session = StringSession()

    def authorise(self) -> None:
        self._session.set_dc(*TELEGRAM_DC)
        self._session.auth_key = AuthKey(os.urandom(256))

    def save(self) -> str:
        return self._session.save()


class FakeTelegramClient:
    """Answers like `telethon.TelegramClient` for the calls the telegram source and the gateway make."""

    parse_mode = None  # `Message.text` then equals the raw text

    def __init__(self, *, authorised: bool = True, login_code: str = "24680", password: str | None = None) -> None:
        self._mb_entity_cache = EntityCache()  # read by Message._finish_init
        self._channels: dict[int, FakeChannel] = {}
        self._users: dict[int, types.User] = {}
        self._failures: dict[str, deque[tuple[BaseException, int]]] = defaultdict(deque)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connected = False
        self._authorised = authorised
        self._login_code = login_code
        self._password = password
        self.session = FakeSession()
        self.call_threads: set[int] = set()
        self.download_calls = 0
        self.callback_threads: list[int] = []
        self.requests: list[str] = []
        """Every request sent, as `method` or `method(username)` for a username resolved."""
        self.require_connection = False
        """Refuse calls while disconnected, as Telethon does ("Cannot send requests while disconnected")."""
        self._drop_on_failure: set[str] = set()

    @property
    def _self_id(self) -> int | None:
        return None

    # The fake world.

    def add_channel(self, username: str | None, title: str = "", *, private: bool = False) -> FakeChannel:
        entity = types.Channel(
            id=next(_ids),
            title=title or (username or "Private channel"),
            photo=types.ChatPhotoEmpty(),
            date=FIRST_DATE - timedelta(days=365),
            broadcast=True,
            access_hash=next(_ids),
            username=username,
        )
        channel = FakeChannel(entity, private=private)
        self._channels[entity.id] = channel
        return channel

    def add_user(self, username: str, first_name: str, last_name: str | None = None) -> types.User:
        user = types.User(
            id=next(_ids), access_hash=next(_ids), first_name=first_name, last_name=last_name, username=username
        )
        self._users[user.id] = user
        return user

    def restarted(self) -> FakeTelegramClient:
        """The same account and world in a new process: a client of its own (on its own event loop) seeing the same
        channels, recording into the same `requests` and failures."""
        client = FakeTelegramClient()
        client._channels, client._users, client._failures = self._channels, self._users, self._failures
        client.requests = self.requests
        return client

    def fail_next(self, method: str, error: BaseException, *, after_chunks: int = 0, drop: bool = False) -> None:
        """Make the next call of `method` raise `error` (for download_media, after `after_chunks` chunks); `drop`
        also leaves the client disconnected, as a lost connection does."""
        self._failures[method].append((error, after_chunks))
        if drop:
            self._drop_on_failure.add(method)

    # telethon.TelegramClient's interface.

    async def connect(self) -> None:
        self._enter("connect")
        self._connected = True

    async def disconnect(self) -> None:
        self._enter("disconnect")
        self._connected = False

    def is_connected(self) -> bool:
        return self._connected

    async def is_user_authorized(self) -> bool:
        self._enter("is_user_authorized")
        return self._authorised

    async def get_entity(self, entity: Any) -> types.Channel | types.User:
        self._enter("get_entity")
        return _wire_copy(self._find_entity(entity))

    async def get_input_entity(self, peer: Any) -> Any:
        self._enter("get_input_entity", peer if isinstance(peer, str) else None)
        if isinstance(peer, types.InputPeerChannel | types.InputPeerUser):
            return peer
        return utils.get_input_peer(self._find_entity(peer))

    def iter_messages(
        self,
        entity: Any,
        limit: float | None = None,
        *,
        offset_date: Any = None,
        offset_id: int = 0,
        max_id: int = 0,
        min_id: int = 0,
        add_offset: int = 0,
        search: str | None = None,
        filter: Any = None,
        from_user: Any = None,
        wait_time: float | None = None,
        ids: int | list[int] | None = None,
        reverse: bool = False,
        reply_to: int | None = None,
        scheduled: bool = False,
    ) -> _MessageIterator:
        """Like Telethon's: a plain method returning an async iterator; the request happens on first use."""
        unsupported = {
            "add_offset": add_offset,
            "search": search,
            "filter": filter,
            "from_user": from_user,
            "reply_to": reply_to,
            "scheduled": scheduled,
        }
        used = [name for name, value in unsupported.items() if value]
        if used:
            raise NotImplementedError(f"the fake client does not implement iter_messages({', '.join(used)}=...)")
        return _MessageIterator(
            self,
            entity,
            limit=limit,
            offset_id=offset_id,
            max_id=max_id,
            min_id=min_id,
            ids=ids,
            reverse=reverse,
            offset_date=offset_date,
        )

    async def get_messages(self, *args: Any, **kwargs: Any) -> Any:
        """Telethon's defaults: one message unless `limit` (or both min_id and max_id) is given; `ids=<int>`
        returns that message or None."""
        if len(args) == 1 and "limit" not in kwargs:
            kwargs["limit"] = None if "min_id" in kwargs and "max_id" in kwargs else 1
        iterator = self.iter_messages(*args, **kwargs)
        ids = kwargs.get("ids")
        found = [message async for message in iterator]
        if ids is not None and not isinstance(ids, list):
            return found[0] if found else None
        return found

    async def download_media(
        self, message: Any, file: Any = None, *, thumb: Any = None, progress_callback: Any = None
    ) -> Any:
        """Write the media's bytes to `file` (a file-like object) in Telethon's chunk size and return `file`;
        `file=None` or `bytes` returns the bytes. None when the message has nothing to download."""
        self._enter("download_media")
        self.download_calls += 1
        error, after_chunks = self._pop_failure("download_media")
        data = self._media_bytes(message)
        if data is None:
            return None
        sink = file if file not in (None, bytes) else _BytesSink()
        for index, start in enumerate(range(0, len(data), CHUNK_SIZE)):
            if error is not None and index == after_chunks:
                raise error
            result = sink.write(data[start : start + CHUNK_SIZE])
            if inspect.isawaitable(result):
                await result
        if error is not None:
            raise error
        if callable(getattr(sink, "flush", None)):
            sink.flush()
        return sink.getvalue() if isinstance(sink, _BytesSink) else file

    def start(
        self,
        phone: Any = None,
        password: Any = None,
        *,
        bot_token: str | None = None,
        force_sms: bool = False,
        code_callback: Any = None,
        first_name: str = "New User",
        last_name: str = "",
        max_attempts: int = 3,
    ) -> Any:
        """Inside a running loop Telethon's `start` returns a coroutine; so does this one."""
        return self._start(phone, password, code_callback, max_attempts)

    # Internals.

    async def _start(self, phone: Any, password: Any, code_callback: Any, max_attempts: int) -> FakeTelegramClient:
        await self.connect()
        if self._authorised:
            return self
        if not (phone() if callable(phone) else phone):
            raise ValueError("No phone number or bot token provided.")
        for _attempt in range(max_attempts):
            if str(await self._ask(code_callback)) == self._login_code:
                break
        else:
            raise RuntimeError(f"{max_attempts} consecutive sign-in attempts failed. Aborting")
        if self._password is not None:
            given = await self._ask(password) if callable(password) else password
            if given != self._password:
                raise errors.PasswordHashInvalidError(request=None)
        self._authorised = True
        self.session.authorise()
        return self

    async def _ask(self, callback: Any) -> Any:
        value = callback()
        if inspect.isawaitable(value):
            value = await value
        return value

    def _enter(self, method: str, username: str | None = None) -> None:
        """Bookkeeping every coroutine does first: which thread ran it, Telethon's one-loop rule, and any
        failure asked for with `fail_next` (download_media handles its own)."""
        self.call_threads.add(threading.get_ident())
        if method not in ("connect", "disconnect"):
            self.requests.append(f"{method}({username})" if username else method)
            if self.require_connection and not self._connected:
                raise ConnectionError("Cannot send requests while disconnected")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("The asyncio event loop must not change after connection (see the FAQ for details)")
        if method != "download_media":
            error, _ = self._pop_failure(method)
            if error is not None:
                if method in self._drop_on_failure:
                    self._drop_on_failure.discard(method)
                    self._connected = False
                raise error

    def _pop_failure(self, method: str) -> tuple[BaseException | None, int]:
        queue = self._failures[method]
        return queue.popleft() if queue else (None, 0)

    def _find_entity(self, entity: Any) -> types.Channel | types.User:
        if isinstance(entity, str):
            username, _is_invite = utils.parse_username(entity)
            for candidate in self._known_entities():
                if username and (candidate.username or "").lower() == username.lower():
                    return candidate
            raise ValueError(f'No user has "{username or entity}" as username')
        if isinstance(entity, types.InputPeerChannel | types.PeerChannel | types.Channel):
            channel_id = getattr(entity, "channel_id", None) or entity.id
            if channel_id in self._channels:
                return self._channels[channel_id].entity
        if isinstance(entity, types.InputPeerUser | types.PeerUser | types.User):
            user_id = getattr(entity, "user_id", None) or entity.id
            if user_id in self._users:
                return self._users[user_id]
        raise ValueError(f"Could not find the input entity for {entity!r}")

    def _known_entities(self) -> list[types.Channel | types.User]:
        return [channel.entity for channel in self._channels.values()] + list(self._users.values())

    def _history(self, entity: Any) -> tuple[FakeChannel, types.InputPeerChannel]:
        found = self._find_entity(entity)
        if not isinstance(found, types.Channel):
            raise NotImplementedError("the fake client only holds channel histories")
        channel = self._channels[found.id]
        if channel.private:
            raise errors.ChannelPrivateError(request=None)
        return channel, utils.get_input_peer(found)

    def _deliver(self, messages: list[Any], input_chat: types.InputPeerChannel) -> list[Any]:
        """Messages as Telethon hands them out: decoded from TL bytes, finished with the response's entities."""
        entities = {utils.get_peer_id(entity): entity for entity in self._known_entities()}
        delivered = []
        for message in messages:
            copy = _wire_copy(message)
            copy._finish_init(self, entities, input_chat)
            delivered.append(copy)
        return delivered

    def _media_bytes(self, message: Any) -> bytes | None:
        media = getattr(message, "media", None)
        if not isinstance(media, types.MessageMediaPhoto | types.MessageMediaDocument):
            return None
        media_id = _media_id(media)
        for channel in self._channels.values():
            if media_id in channel.media_data:
                return channel.media_data[media_id]
        return None


class _MessageIterator:
    """`iter_messages`' answer. Semantics as Telethon's _MessagesIter: newest first by default; with
    `reverse=True` oldest first starting after max(min_id, offset_id); `limit=None` means the whole history."""

    def __init__(
        self,
        client: FakeTelegramClient,
        entity: Any,
        *,
        limit: float | None,
        offset_id: int,
        max_id: int,
        min_id: int,
        ids: int | list[int] | None,
        reverse: bool,
        offset_date: datetime | None = None,
    ) -> None:
        self._client = client
        self._offset_date = offset_date
        self._entity = entity
        self._limit = float("inf") if limit is None else max(limit, 0)
        self._offset_id = offset_id
        self._max_id = max_id
        self._min_id = min_id
        self._ids = ids
        self._reverse = reverse
        self._buffer: deque[Any] | None = None

    def __aiter__(self) -> _MessageIterator:
        return self

    async def __anext__(self) -> Any:
        if self._buffer is None:
            self._client._enter("iter_messages")
            self._buffer = deque(self._request())
        if not self._buffer:
            raise StopAsyncIteration
        return self._buffer.popleft()

    def _request(self) -> list[Any]:
        channel, input_chat = self._client._history(self._entity)
        if self._ids is not None:
            wanted = self._ids if isinstance(self._ids, list) else [self._ids]
            existing = [channel.messages[message_id] for message_id in wanted if message_id in channel.messages]
            delivered = {message.id: message for message in self._client._deliver(existing, input_chat)}
            return [delivered.get(message_id) for message_id in wanted]
        chosen = [
            channel.messages[message_id]
            for message_id in sorted(channel.messages)
            if self._in_range(message_id) and self._in_dates(channel.messages[message_id].date)
        ]
        if not self._reverse:
            chosen.reverse()
        if self._limit != float("inf"):
            chosen = chosen[: int(self._limit)]
        return self._client._deliver(chosen, input_chat)

    def _in_dates(self, date: datetime) -> bool:
        """`offset_date` is exclusive: messages before it, or after it with `reverse=True`, as Telethon's."""
        if self._offset_date is None:
            return True
        return date > self._offset_date if self._reverse else date < self._offset_date

    def _in_range(self, message_id: int) -> bool:
        if self._reverse:
            after = max(self._offset_id, self._min_id)
            return message_id > after and (not self._max_id or message_id < self._max_id)
        before = max(self._offset_id, self._max_id)
        return message_id > self._min_id and (not before or message_id < before)


class _BytesSink:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, chunk: bytes) -> int:
        self._parts.append(chunk)
        return len(chunk)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def _wire_copy(tl_object: Any) -> Any:
    """The object as Telethon would decode it from Telegram's bytes."""
    return BinaryReader(bytes(tl_object)).tgread_object()


def _media_id(media: types.MessageMediaPhoto | types.MessageMediaDocument) -> int:
    return media.photo.id if isinstance(media, types.MessageMediaPhoto) else media.document.id
