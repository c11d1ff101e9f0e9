"""A Telegram Desktop chat export ("Export chat history", format "Machine-readable JSON") as a source.

For offline and air-gapped use, and for researchers' archives. The folder holds `result.json` and the media files
Telegram Desktop downloaded, in `photos/`, `video_files/`, `round_video_messages/`, `files/`, `stickers/`,
`voice_messages/` ... The format, as Telegram Desktop's exporter writes it:

- `result.json` of a one-chat export is `{"name", "type", "id", "messages": [...]}`; a whole-account export
  ("Export Telegram data") nests chats under `"chats": {"list": [...]}` (and `"left_chats"`), each chat shaped like
  a one-chat export: a watch reads one of them, named by `chat` (its name or id), one post stream per chat.
- A message has `id`, `type` (`"message"`, `"service"` for joins, pins and the like, `"unsupported"`),
  `date` (the exporting computer's local time, without an offset), `date_unixtime` (seconds, as a string; in
  exports since 2022), `from`, `forwarded_from`, `text` (a string, or a list of strings and entity objects such
  as `{"type": "bold", "text": ...}`), `text_entities` (newer exports: the same text, every part an object).
- Media is `photo` (always a JPEG) or `file` with `media_type` (`video_file`, `animation`, `video_message` for
  round videos, `sticker`, `voice_message`, `audio_file`, or none for a plain document) and `mime_type`. Both hold
  a path relative to the export folder, or, when the file was not downloaded, a note in parentheses:
  "(File not included. Change data exporting settings to download.)", "(File exceeds maximum size. ...)" or
  "(File unavailable, please try again later)".

Choices:

- Each non-service message is one post, with its message id as the cursor. An album is not regrouped: the export
  has no `grouped_id`, only one message per album item, and guessing from equal timestamps would merge unrelated
  messages sent in the same second; a post per item also keeps each item's permalink exact.
- Photos, video files, animations, round videos, images and videos sent as files and static stickers are media,
  by the rule every source shares (`watchers.sources.media_kinds`: the MIME type, else the file name); an animated
  sticker (`.tgs`) is kept as a media item skipped with its reason; voice, audio and other documents are not media.
- A media file that was not downloaded (a note instead of a path) or is missing from the folder stays in the post
  as a media item awaiting its file (`MediaAwaitingFile`): counted on the watch and looked for on every run, and
  analysed once the file is there (the export downloaded again, with media, into the same folder: for a note the
  message is looked up again in the new `result.json` by its id, locator `message:<id>`). One whose path leads outside
  the folder stays in the post with its path as the locator, so that `download` refuses it and the watch's status
  says a media item was skipped and why; one that is not a regular file (a FIFO) is refused the same way, never
  opened blocking.
- The export does not record the chat's public username. With `channel` configured, permalinks are
  `https://t.me/<channel>/<id>` and posts carry that channel; without it, posts carry the export's `name` and the
  permalink is the `file://` URI of `result.json` with `#message-<id>`, which at least says where to look.
- Dates come from `date_unixtime`; an older export without it gives only the exporting computer's local time,
  read in the IANA zone `timezone` of the config (UTC when none is set), and the watch's status says so.
- A message without an integer id or with an unreadable date is skipped with a warning; the rest still come.
- Locators are media paths relative to the export folder; `download` refuses one leading outside the folder with
  `NeedsAttention`, because only a tampered `result.json` or database can produce it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from core.telegram import bare_username
from watchers.sources.base import (
    FetchedPost,
    MediaAwaitingFile,
    MediaKind,
    MediaRef,
    NeedsAttention,
    SourceConfigBase,
    SourceContext,
)
from watchers.sources.helpers import copy_file_capped, file_inside, parse_cursor
from watchers.sources.media_kinds import KindDecision, decide_kind

logger = logging.getLogger(__name__)

RESULT_FILE_NAME = "result.json"
MESSAGE_LOCATOR_PREFIX = "message:"
"""The locator of a media item the export did not include: found again by message id in a later export."""


class TelegramExportConfig(SourceConfigBase):
    """A Telegram Desktop chat export folder; `channel` is the chat's public username, for permalinks."""

    kind: Literal["telegram_export"] = "telegram_export"
    path: str = Field(min_length=1)
    channel: str | None = None
    timezone: str | None = Field(
        default=None,
        description="IANA zone of the computer that made the export (Asia/Almaty): read for exports without "
        "date_unixtime, whose dates are that computer's local time",
    )
    chat: str | None = Field(
        default=None, description="For a whole-account export: the chat to read, by its name or its id"
    )

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"{value!r} is not an IANA time zone such as Asia/Almaty") from error
        return value.strip()

    @field_validator("chat", mode="before")
    @classmethod
    def _chat_as_text(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value.strip() or None if isinstance(value, str) else value

    @field_validator("channel")
    @classmethod
    def _public_username(cls, value: str | None) -> str | None:
        if value is None or not value.strip().removeprefix("@"):
            return None
        return bare_username(value)


class _MalformedMessage(ValueError):
    """A message this source cannot read; it is skipped and the others still come."""


@dataclass(frozen=True)
class _Export:
    folder: Path
    result_json: Path
    name: str
    messages: list[Any]
    chat_id: int | None = None


@dataclass(frozen=True)
class _ExportedFile:
    kind: MediaKind
    path_or_note: str
    mime_type: str | None
    file_name: str | None
    skipped: str | None = None


class TelegramExportSource:
    """Reads the posts of a Telegram Desktop chat export; see the module docstring for the format and choices."""

    def __init__(self, config: TelegramExportConfig, context: SourceContext) -> None:
        self._config = config
        self._context = context
        self._folder = Path(config.path)
        self._zone: tzinfo = ZoneInfo(config.timezone) if config.timezone else UTC
        self._local_dates = 0
        self._loaded: _Export | None = None

    def coverage_notes(self) -> list[str]:
        """Says when this run's dates rest on the configured zone (or on UTC, for want of one)."""
        if not self._local_dates:
            return []
        if self._config.timezone:
            return [f"this export has no date_unixtime: its dates are read as local time in {self._config.timezone}"]
        return [
            "this export has no date_unixtime: its dates are local time of the exporting computer, read as UTC; "
            "set timezone in the watch's config to that computer's IANA zone"
        ]

    def fetch(self, cursor: str | None, limit: int) -> Iterator[FetchedPost]:
        """Yield at most `limit` posts with a message id above `cursor`, in id order.

        `result.json` is read when this is called (once per call), so a missing or broken export raises
        `NeedsAttention` at once."""
        after = parse_cursor(cursor, "a Telegram message id")
        export = self._load_export()
        return self._posts(export, _messages_after(export, after), limit)

    def download(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        """Copy the exported media file to `dest`; `MediaTooLarge` over `max_bytes`, `MediaAwaitingFile` while the
        file is not in the folder (or the export still has a note instead of its path)."""
        locator = media.locator
        if locator.startswith(MESSAGE_LOCATOR_PREFIX):
            locator = self._current_path(locator)
        path = file_inside(self._folder, locator)
        if not path.exists() and not path.is_symlink():
            raise MediaAwaitingFile(f"{locator} is not in the export folder {self._folder.resolve()}")
        copy_file_capped(path, dest, max_bytes)

    def _current_path(self, locator: str) -> str:
        """The path the export now gives for the media of message `message:<id>`, once it includes the file."""
        raw_id = locator.removeprefix(MESSAGE_LOCATOR_PREFIX)
        if self._loaded is None:
            self._loaded = self._load_export()
        message = next((m for m in self._loaded.messages if isinstance(m, dict) and str(m.get("id")) == raw_id), None)
        exported = (_exported_photo(message) or _exported_document(message)) if message is not None else None
        if exported is None:
            raise NeedsAttention(f"message {raw_id} is no longer in {self._loaded.result_json} with its media")
        if _is_not_downloaded_note(exported.path_or_note):
            raise MediaAwaitingFile(f"message {raw_id}: {exported.path_or_note}")
        path = _locator(exported.path_or_note)
        if path is None:
            raise NeedsAttention(f"media path {exported.path_or_note!r} of message {raw_id} leads outside the export")
        return path

    def _posts(self, export: _Export, pending: list[tuple[int, dict[str, Any]]], limit: int) -> Iterator[FetchedPost]:
        permalink_base = self._permalink_base(export)
        channel = self._config.channel or export.name
        yielded = 0
        for message_id, message in pending:
            if yielded >= limit:
                return
            if message.get("type") != "message":
                continue
            try:
                post = self._post(export, channel, f"{permalink_base}{message_id}", message_id, message)
            except _MalformedMessage as error:
                logger.warning("skipping message %s of %s: %s", message_id, export.result_json, error)
                continue
            yield post
            yielded += 1

    def _post(
        self, export: _Export, channel: str, permalink: str, message_id: int, message: dict[str, Any]
    ) -> FetchedPost:
        post = _post(export, channel, permalink, message_id, message, self._zone)
        if message.get("date_unixtime") is None:
            self._local_dates += 1
        return post

    def _permalink_base(self, export: _Export) -> str:
        if self._config.channel:
            return f"{self._context.tme_base_url.rstrip('/')}/{self._config.channel}/"
        if export.chat_id is not None:
            return f"{export.result_json.as_uri()}#chat-{export.chat_id}-message-"
        return f"{export.result_json.as_uri()}#message-"

    def _load_export(self) -> _Export:
        folder = self._folder.resolve()
        if not folder.is_dir():
            raise NeedsAttention(f"Telegram export folder {folder} does not exist or is not a folder")
        result_json = folder / RESULT_FILE_NAME
        if not result_json.is_file():
            raise NeedsAttention(_missing_result_reason(folder))
        data = _read_json(result_json)
        if isinstance(data, dict) and isinstance(data.get("chats"), dict):
            return _chosen_chat(folder, result_json, data, self._config.chat)
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(messages, list):
            raise NeedsAttention(_not_a_chat_export_reason(result_json, data))
        name = data.get("name")
        return _Export(folder, result_json, name if isinstance(name, str) and name else folder.name, messages)


def _chosen_chat(folder: Path, result_json: Path, data: dict[str, Any], wanted: str | None) -> _Export:
    """The chat `wanted` (its name or id) of a whole-account export; `NeedsAttention` naming the chats when the
    watch names none, or one the export does not hold."""
    chats = [
        chat
        for section in ("chats", "left_chats")
        if isinstance(data.get(section), dict) and isinstance(data[section].get("list"), list)
        for chat in data[section]["list"]
        if isinstance(chat, dict) and isinstance(chat.get("messages"), list)
    ]
    for chat in chats:
        if wanted is not None and wanted in (str(chat.get("id")), chat.get("name")):
            name = chat.get("name")
            chat_id = chat.get("id") if isinstance(chat.get("id"), int) else None
            shown = name if isinstance(name, str) and name else wanted
            return _Export(folder, result_json, shown, chat["messages"], chat_id)
    listed = ", ".join(f"{chat.get('name') or '(no name)'} (id {chat.get('id')})" for chat in chats[:20]) or "none"
    if wanted is None:
        raise NeedsAttention(
            f"{result_json} is a whole-account export: set chat in the watch's config to the name or id of the "
            f"chat to read; its chats: {listed}"
        )
    raise NeedsAttention(f"{result_json} holds no chat named or numbered {wanted!r}; its chats: {listed}")


def _post(
    export: _Export, channel: str, permalink: str, message_id: int, message: dict[str, Any], zone: tzinfo = UTC
) -> FetchedPost:
    forwarded_from = message.get("forwarded_from")
    return FetchedPost(
        message_id=message_id,
        channel=channel,
        permalink=permalink,
        date=_message_date(message, zone),
        text=_message_text(message),
        forwarded_from=forwarded_from if isinstance(forwarded_from, str) else None,
        media=_media_refs(export.folder, message_id, message),
    )


def _messages_after(export: _Export, after: int | None) -> list[tuple[int, dict[str, Any]]]:
    """Messages with an integer id above `after`, sorted by id; the others are never parsed further."""
    pending = []
    for position, message in enumerate(export.messages):
        message_id = message.get("id") if isinstance(message, dict) else None
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            logger.warning("skipping message #%d of %s: it has no integer id", position, export.result_json)
            continue
        if after is None or message_id > after:
            pending.append((message_id, message))
    pending.sort(key=lambda item: item[0])
    return pending


def _message_date(message: dict[str, Any], zone: tzinfo = UTC) -> datetime:
    unixtime = message.get("date_unixtime")
    if unixtime is not None:
        try:
            return datetime.fromtimestamp(int(unixtime), UTC)
        except (TypeError, ValueError, OverflowError, OSError) as error:
            raise _MalformedMessage(f"date_unixtime {unixtime!r} is not a Unix time") from error
    local = message.get("date")
    if not isinstance(local, str):
        raise _MalformedMessage("it has no date")
    try:
        parsed = datetime.fromisoformat(local)
    except ValueError as error:
        raise _MalformedMessage(f"date {local!r} is not an ISO date") from error
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=zone).astimezone(UTC)


def _message_text(message: dict[str, Any]) -> str:
    """Plain text of `text` (a string or a list of strings and entity objects), else of `text_entities`."""
    text = message.get("text")
    if text is None:
        text = message.get("text_entities")
    return plain_text(text)


def plain_text(text: object) -> str:
    """Join Telegram export text parts: strings as they are, entity objects by their `text`."""
    if isinstance(text, str):
        return text
    if not isinstance(text, list):
        return ""
    parts = []
    for part in text:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, dict) and isinstance(part.get("text"), str):
            parts.append(part["text"])
    return "".join(parts)


def _media_refs(folder: Path, message_id: int, message: dict[str, Any]) -> tuple[MediaRef, ...]:
    exported = _exported_photo(message) or _exported_document(message)
    if exported is None:
        return ()
    if exported.skipped is not None:
        where = _locator(exported.path_or_note) or f"{MESSAGE_LOCATOR_PREFIX}{message_id}"
        return (MediaRef(exported.kind, where, exported.file_name, exported.mime_type, skipped=exported.skipped),)
    if _is_not_downloaded_note(exported.path_or_note):
        logger.info("message %s: %s media not in the export yet, %s", message_id, exported.kind, exported.path_or_note)
        by_id = f"{MESSAGE_LOCATOR_PREFIX}{message_id}"
        return (MediaRef(exported.kind, by_id, exported.file_name, exported.mime_type, None),)
    locator = _locator(exported.path_or_note)
    if locator is None:
        logger.warning("message %s: media path %r leads outside the export", message_id, exported.path_or_note)
        name = exported.file_name or PurePosixPath(exported.path_or_note).name
        return (MediaRef(exported.kind, exported.path_or_note, name, exported.mime_type, None),)
    try:
        size = (folder / locator).stat().st_size
    except OSError:
        logger.info("message %s: media file %s is not in %s yet", message_id, locator, folder)
        by_id = f"{MESSAGE_LOCATOR_PREFIX}{message_id}"  # an export made again may name the file differently
        return (MediaRef(exported.kind, by_id, exported.file_name or PurePosixPath(locator).name, exported.mime_type),)
    file_name = exported.file_name or PurePosixPath(locator).name
    return (MediaRef(exported.kind, locator, file_name, exported.mime_type, size),)


def _exported_photo(message: dict[str, Any]) -> _ExportedFile | None:
    photo = message.get("photo")
    if not isinstance(photo, str):
        return None
    return _ExportedFile(MediaKind.PHOTO, photo, "image/jpeg", None)


def _exported_document(message: dict[str, Any]) -> _ExportedFile | None:
    path_or_note = message.get("file")
    if not isinstance(path_or_note, str):
        return None
    mime_type = message.get("mime_type") if isinstance(message.get("mime_type"), str) else None
    file_name = message.get("file_name") if isinstance(message.get("file_name"), str) else None
    decision = _document_kind(message.get("media_type"), mime_type, file_name or PurePosixPath(path_or_note).name)
    if decision is None:
        return None
    return _ExportedFile(decision.kind, path_or_note, mime_type, file_name, decision.skipped)


def _document_kind(media_type: object, mime_type: str | None, file_name: str) -> KindDecision | None:
    """Our media kind of an exported document by the shared rule (`watchers.sources.media_kinds`); None for voice,
    audio and other files."""
    if media_type is not None and not isinstance(media_type, str):
        return None
    if media_type in ("voice_message", "audio_file"):
        return None
    if media_type == "video_file":
        return KindDecision(MediaKind.VIDEO)
    return decide_kind(
        mime_type,
        file_name=file_name,
        round_video=media_type == "video_message",
        animation=media_type == "animation",
        sticker=media_type == "sticker",
    )


def _is_not_downloaded_note(path_or_note: str) -> bool:
    """Telegram writes "(File not included. ...)" and similar notes instead of a path; paths never start with "("."""
    return path_or_note.startswith("(") and path_or_note.endswith(")")


def _locator(path: str) -> str | None:
    """The media path as a locator, or None when it is absolute or climbs out of the export folder."""
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        return None
    return relative.as_posix()


def _read_json(result_json: Path) -> object:
    try:
        with result_json.open(encoding="utf-8") as file:
            return json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise NeedsAttention(
            f"{result_json} is not valid JSON ({error}); was the export interrupted? Export the chat again"
        ) from error
    except OSError as error:
        raise NeedsAttention(f"cannot read {result_json}: {error.strerror}") from error


def _missing_result_reason(folder: Path) -> str:
    if (folder / "messages.html").is_file():
        return (
            f"{folder} is an HTML export; export the chat again with format 'Machine-readable JSON' "
            f"to get {RESULT_FILE_NAME}"
        )
    return f"{folder} has no {RESULT_FILE_NAME}; is it a Telegram Desktop chat export in JSON format?"


def _not_a_chat_export_reason(result_json: Path, data: object) -> str:
    return f"{result_json} has no 'messages' list; is it a Telegram Desktop chat export?"
