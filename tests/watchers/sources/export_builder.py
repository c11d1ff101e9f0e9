"""Builds a Telegram Desktop chat export folder ("Export chat history", format "Machine-readable JSON") for tests.

The layout and fields follow what Telegram Desktop's exporter writes: `result.json` with the chat's `name`,
`type`, `id` and `messages`; media files under `photos/`, `video_files/` (videos and animations),
`round_video_messages/`, `stickers/`, `voice_messages/` and `files/`, named the way Telegram names them
(`photo_3@15-01-2024_10-30-00.jpg`); a media file left out of the export is written as Telegram's note
"(File not included. Change data exporting settings to download.)".

    build_export(tmp_path / "export", [
        Message(2, at(2024, 1, 15, 10, 30), text=["Look ", ("bold", "here")], media=photo(fixture("obama_small.jpg"))),
        Message(3, at(2024, 1, 15, 10, 31), media=video_file(fixture("short_hamilton_clip.mp4"))),
    ])
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NOT_INCLUDED = "(File not included. Change data exporting settings to download.)"
ALMATY = timezone(timedelta(hours=5))

# A text part is a plain string, (entity type, text), or ("text_link", text, href).
TextPart = str | tuple[str, str] | tuple[str, str, str]


@dataclass(frozen=True)
class Media:
    """A media attachment: `media_type` is the export's (`photo` for photos, `None` for a plain document).

    `content` is a file to copy or the bytes to write; None writes the "File not included" note instead."""

    media_type: str | None
    content: Path | bytes | None
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: int | None = None
    sticker_emoji: str | None = None


@dataclass(frozen=True)
class Message:
    """One exported message. `overrides` replaces or adds raw JSON fields and `drop` removes them, to build
    malformed messages."""

    id: int
    date: datetime
    text: str | Sequence[TextPart] = ""
    media: Media | None = None
    forwarded_from: str | None = None
    service_action: str | None = None
    overrides: Mapping[str, object] = field(default_factory=dict)
    drop: tuple[str, ...] = ()


def fixture(name: str) -> Path:
    """A file of tests/fixtures/."""
    return FIXTURES / name


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A UTC time."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def photo(content: Path | bytes | None, width: int = 240, height: int = 320) -> Media:
    return Media("photo", content, width=width, height=height)


def video_file(content: Path | bytes | None, file_name: str | None = None) -> Media:
    return Media("video_file", content, "video/mp4", file_name, 640, 360, 9)


def animation(content: Path | bytes | None, file_name: str = "giphy.mp4") -> Media:
    return Media("animation", content, "video/mp4", file_name, 480, 270, 3)


def round_video(content: Path | bytes | None) -> Media:
    return Media("video_message", content, "video/mp4", None, 384, 384, 9)


def sticker(content: Path | bytes | None, emoji: str = "😀") -> Media:
    return Media("sticker", content, None, "sticker.webp", 512, 512, sticker_emoji=emoji)


def animated_sticker(content: Path | bytes | None, emoji: str = "🎉") -> Media:
    """A Lottie sticker, as Telegram Desktop exports it: `stickers/AnimatedSticker.tgs`, `application/x-tgsticker`."""
    return Media("sticker", content, "application/x-tgsticker", "AnimatedSticker.tgs", 512, 512, sticker_emoji=emoji)


def voice_message(content: Path | bytes | None) -> Media:
    return Media("voice_message", content, "audio/ogg", None, duration_seconds=4)


def document(content: Path | bytes | None, file_name: str, mime_type: str) -> Media:
    """A file sent as a document: an image sent uncompressed, a PDF ..."""
    return Media(None, content, mime_type, file_name)


def build_export(
    folder: Path,
    messages: Sequence[Message],
    *,
    name: str = "Kazinform Test",
    chat_type: str = "public_channel",
    chat_id: int = 1234567890,
    local_timezone: tzinfo = ALMATY,
    legacy: bool = False,
) -> Path:
    """Write the export into `folder` and return `folder`.

    `local_timezone` is the exporting computer's, used for `date`. `legacy` writes an export from before 2022:
    no `date_unixtime`, `text_entities`, `file_name` or sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = _MediaWriter(folder)
    exported = [_message_json(message, writer, local_timezone, legacy) for message in messages]
    result = {"name": name, "type": chat_type, "id": chat_id, "messages": exported}
    (folder / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return folder


class _MediaWriter:
    """Writes media files where Telegram Desktop puts them, numbering names per kind as it does."""

    _FOLDERS = {
        "photo": "photos",
        "video_file": "video_files",
        "animation": "video_files",
        "video_message": "round_video_messages",
        "sticker": "stickers",
        "voice_message": "voice_messages",
        None: "files",
    }

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._counters: Counter[str] = Counter()

    def write(self, media: Media, local_date: datetime) -> tuple[str, int]:
        """The path relative to the export folder and the size of the written file; names carry local time."""
        relative = f"{self._FOLDERS[media.media_type]}/{self._file_name(media, local_date)}"
        target = self._folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(media.content, bytes):
            target.write_bytes(media.content)
        else:
            shutil.copyfile(media.content, target)
        return relative, target.stat().st_size

    def _file_name(self, media: Media, local_date: datetime) -> str:
        if media.file_name:
            return media.file_name
        stamp = local_date.strftime("%d-%m-%Y_%H-%M-%S")
        prefix, extension = {
            "photo": ("photo", ".jpg"),
            "video_file": ("video", ".mp4"),
            "voice_message": ("audio", ".ogg"),
        }.get(media.media_type, ("file", ".mp4"))
        self._counters[prefix] += 1
        return f"{prefix}_{self._counters[prefix]}@{stamp}{extension}"


def _message_json(message: Message, writer: _MediaWriter, local_timezone: tzinfo, legacy: bool) -> dict[str, object]:
    local_date = message.date.astimezone(local_timezone).replace(tzinfo=None)
    data: dict[str, object] = {
        "id": message.id,
        "type": "service" if message.service_action else "message",
        "date": local_date.isoformat(timespec="seconds"),
    }
    if not legacy:
        data["date_unixtime"] = str(int(message.date.timestamp()))
    if message.service_action:
        data.update({"actor": "Kazinform Test", "actor_id": "channel1234567890", "action": message.service_action})
    else:
        data.update({"from": "Kazinform Test", "from_id": "channel1234567890"})
        if message.forwarded_from:
            data["forwarded_from"] = message.forwarded_from
        if message.media:
            data.update(_media_json(message.media, writer, message.date.astimezone(local_timezone), legacy))
    data["text"] = _text_json(message.text)
    if not legacy:
        data["text_entities"] = _text_entities_json(message.text)
    data.update(message.overrides)
    for key in message.drop:
        data.pop(key, None)
    return data


def _media_json(media: Media, writer: _MediaWriter, local_date: datetime, legacy: bool) -> dict[str, object]:
    if media.content is None:
        path, size = NOT_INCLUDED, None
    else:
        path, size = writer.write(media, local_date)
    if media.media_type == "photo":
        data: dict[str, object] = {"photo": path}
        if size is not None and not legacy:
            data["photo_file_size"] = size
        data.update({"width": media.width, "height": media.height})
        return data
    data = {"file": path}
    if not legacy:
        if media.file_name:
            data["file_name"] = media.file_name
        if size is not None:
            data["file_size"] = size
    optional = {
        "media_type": media.media_type,
        "sticker_emoji": media.sticker_emoji,
        "mime_type": media.mime_type,
        "duration_seconds": media.duration_seconds,
        "width": media.width,
        "height": media.height,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    return data


def _parts(text: str | Sequence[TextPart]) -> list[TextPart]:
    if isinstance(text, str):
        return [text] if text else []
    return list(text)


def _entity_json(part: TextPart) -> dict[str, str]:
    if isinstance(part, str):
        return {"type": "plain", "text": part}
    if len(part) == 3:
        return {"type": part[0], "text": part[1], "href": part[2]}
    return {"type": part[0], "text": part[1]}


def _text_json(text: str | Sequence[TextPart]) -> str | list[object]:
    """A plain text is a string; a text with entities is a list of strings and entity objects."""
    parts = _parts(text)
    if not parts:
        return ""
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0]
    return [part if isinstance(part, str) else _entity_json(part) for part in parts]


def _text_entities_json(text: str | Sequence[TextPart]) -> list[dict[str, str]]:
    return [_entity_json(part) for part in _parts(text)]
