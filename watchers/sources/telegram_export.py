"""A Telegram Desktop chat export ("Export chat history", format "Machine-readable JSON") as a source.

For offline and air-gapped use, and for researchers' archives. The folder holds `result.json` and the media files
Telegram Desktop downloaded, in `photos/`, `video_files/`, `round_video_messages/`, `files/`, `stickers/`,
`voice_messages/` ... The format, as Telegram Desktop's exporter writes it:

- `result.json` of a one-chat export is `{"name", "type", "id", "messages": [...]}`; a whole-account export
  ("Export Telegram data") nests chats under `"chats"` and is refused with a reason.
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
- Photos, video files, animations, round videos, images sent as files and videos sent as files (no `media_type`
  but an image or video MIME type the scanner opens, `core.media_types`) are media; stickers, voice, audio and
  other documents are not.
- A media file that was not downloaded or is missing from the folder is left out of the post (the post itself is
  still yielded, its text may still matter; a missing file is logged as a warning). One whose path leads outside
  the folder stays in the post with its path as the locator, so that `download` refuses it and the watch's status
  says a media item was skipped and why; one that is not a regular file (a FIFO) is refused the same way, never
  opened blocking.
- The export does not record the chat's public username. With `channel` configured, permalinks are
  `https://t.me/<channel>/<id>` and posts carry that channel; without it, posts carry the export's `name` and the
  permalink is the `file://` URI of `result.json` with `#message-<id>`, which at least says where to look.
- Dates come from `date_unixtime`; an older export without it gives only local time, read as UTC.
- A message without an integer id or with an unreadable date is skipped with a warning; the rest still come.
- Locators are media paths relative to the export folder; `download` refuses one leading outside the folder with
  `NeedsAttention`, because only a tampered `result.json` or database can produce it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, Literal

from pydantic import Field, field_validator

from core.media_types import IMAGE_MIME_TYPES, VIDEO_MIME_TYPES
from core.telegram import bare_username
from watchers.sources.base import FetchedPost, MediaKind, MediaRef, NeedsAttention, SourceConfigBase, SourceContext
from watchers.sources.helpers import copy_file_capped, file_inside, parse_cursor

logger = logging.getLogger(__name__)

RESULT_FILE_NAME = "result.json"
_DOCUMENT_KINDS = {
    "video_file": MediaKind.VIDEO,
    "animation": MediaKind.ANIMATION,
    "video_message": MediaKind.ROUND_VIDEO,
}


class TelegramExportConfig(SourceConfigBase):
    """A Telegram Desktop chat export folder; `channel` is the chat's public username, for permalinks."""

    kind: Literal["telegram_export"] = "telegram_export"
    path: str = Field(min_length=1)
    channel: str | None = None

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


@dataclass(frozen=True)
class _ExportedFile:
    kind: MediaKind
    path_or_note: str
    mime_type: str | None
    file_name: str | None


class TelegramExportSource:
    """Reads the posts of a Telegram Desktop chat export; see the module docstring for the format and choices."""

    def __init__(self, config: TelegramExportConfig, context: SourceContext) -> None:
        self._config = config
        self._context = context
        self._folder = Path(config.path)

    def fetch(self, cursor: str | None, limit: int) -> Iterator[FetchedPost]:
        """Yield at most `limit` posts with a message id above `cursor`, in id order.

        `result.json` is read when this is called (once per call), so a missing or broken export raises
        `NeedsAttention` at once."""
        after = parse_cursor(cursor, "a Telegram message id")
        export = self._load_export()
        return self._posts(export, _messages_after(export, after), limit)

    def download(self, media: MediaRef, dest: IO[bytes], max_bytes: int) -> None:
        """Copy the exported media file to `dest`; `MediaTooLarge` over `max_bytes`."""
        copy_file_capped(file_inside(self._folder, media.locator), dest, max_bytes)

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
                post = _post(export, channel, f"{permalink_base}{message_id}", message_id, message)
            except _MalformedMessage as error:
                logger.warning("skipping message %s of %s: %s", message_id, export.result_json, error)
                continue
            yield post
            yielded += 1

    def _permalink_base(self, export: _Export) -> str:
        if self._config.channel:
            return f"{self._context.tme_base_url.rstrip('/')}/{self._config.channel}/"
        return f"{export.result_json.as_uri()}#message-"

    def _load_export(self) -> _Export:
        folder = self._folder.resolve()
        if not folder.is_dir():
            raise NeedsAttention(f"Telegram export folder {folder} does not exist or is not a folder")
        result_json = folder / RESULT_FILE_NAME
        if not result_json.is_file():
            raise NeedsAttention(_missing_result_reason(folder))
        data = _read_json(result_json)
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(messages, list):
            raise NeedsAttention(_not_a_chat_export_reason(result_json, data))
        name = data.get("name")
        return _Export(folder, result_json, name if isinstance(name, str) and name else folder.name, messages)


def _post(export: _Export, channel: str, permalink: str, message_id: int, message: dict[str, Any]) -> FetchedPost:
    forwarded_from = message.get("forwarded_from")
    return FetchedPost(
        message_id=message_id,
        channel=channel,
        permalink=permalink,
        date=_message_date(message),
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


def _message_date(message: dict[str, Any]) -> datetime:
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
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    if _is_not_downloaded_note(exported.path_or_note):
        logger.info("message %s: %s media left out, %s", message_id, exported.kind, exported.path_or_note)
        return ()
    locator = _locator(exported.path_or_note)
    if locator is None:
        logger.warning("message %s: media path %r leads outside the export", message_id, exported.path_or_note)
        name = exported.file_name or PurePosixPath(exported.path_or_note).name
        return (MediaRef(exported.kind, exported.path_or_note, name, exported.mime_type, None),)
    try:
        size = (folder / locator).stat().st_size
    except OSError:
        logger.warning("message %s: media file %s is missing from %s", message_id, locator, folder)
        return ()
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
    kind = _document_kind(message.get("media_type"), mime_type)
    if kind is None:
        return None
    file_name = message.get("file_name") if isinstance(message.get("file_name"), str) else None
    return _ExportedFile(kind, path_or_note, mime_type, file_name)


def _document_kind(media_type: object, mime_type: str | None) -> MediaKind | None:
    """Our media kind of an exported document, or None for stickers, voice, audio and other files."""
    if media_type is not None:
        return _DOCUMENT_KINDS.get(media_type) if isinstance(media_type, str) else None
    if mime_type in IMAGE_MIME_TYPES:
        return MediaKind.IMAGE_DOCUMENT
    if mime_type in VIDEO_MIME_TYPES:
        return MediaKind.VIDEO
    return None


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
    if isinstance(data, dict) and "chats" in data:
        return (
            f"{result_json} is a whole-account export; export one chat with 'Export chat history' "
            "in the chat's menu instead"
        )
    return f"{result_json} has no 'messages' list; is it a Telegram Desktop chat export?"
