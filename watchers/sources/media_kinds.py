"""Which media of a message are analysed, and as what: one rule for every source.

A source knows a document's declared MIME type (Telethon, a Telegram export) and what Telegram says it is (a round
video, a GIF, a sticker); a local file's content is sniffed too (`helpers.sniff_media`). The rule:

- a round video is a round video, a GIF (Telegram's silent mp4, or an image/gif file) is an animation;
- any other video type the scanner opens (`core.media_types.VIDEO_MIME_TYPES`: a `.MOV` sent as a file, say) is a
  video, whether or not the document carries Telethon's video attribute;
- an image type the scanner opens (HEIC/HEIF iPhone photos sent as files among them) is an image document;
- a static sticker (WebP or PNG) is an image document, a video sticker (WebM) an animation; an animated sticker
  (`application/x-tgsticker`, a Lottie vector drawing) is no photo of anyone: it is kept as a media item skipped
  with `ANIMATED_STICKER_REASON`, never downloaded;
- audio, voice, PDFs and other documents are not media (None).
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass

from core.media_types import IMAGE_MIME_TYPES, VIDEO_MIME_TYPES
from watchers.sources.base import MediaKind

ANIMATED_STICKER_MIME_TYPE = "application/x-tgsticker"
ANIMATED_STICKER_REASON = "an animated sticker (a vector drawing, not a photo or a video) is not analysed for faces"
_GUESSED_TYPES = {".tgs": ANIMATED_STICKER_MIME_TYPE, ".heic": "image/heic", ".heif": "image/heif"}


@dataclass(frozen=True)
class KindDecision:
    """What a document is analysed as; `skipped` says why it is kept but not analysed."""

    kind: MediaKind
    skipped: str | None = None


def decide_kind(
    mime_type: str | None,
    *,
    file_name: str | None = None,
    round_video: bool = False,
    animation: bool = False,
    sticker: bool = False,
) -> KindDecision | None:
    """The media kind of a document by its declared type and Telegram's flags (see the module docstring)."""
    mime = effective_mime_type(mime_type, file_name)
    if sticker:
        return _sticker_kind(mime)
    if round_video:
        return KindDecision(MediaKind.ROUND_VIDEO)
    if animation or mime == "image/gif":
        return KindDecision(MediaKind.ANIMATION)
    if mime in VIDEO_MIME_TYPES:
        return KindDecision(MediaKind.VIDEO)
    if mime in IMAGE_MIME_TYPES:
        return KindDecision(MediaKind.IMAGE_DOCUMENT)
    return None


def effective_mime_type(mime_type: str | None, file_name: str | None) -> str:
    """The declared MIME type, lower-case; guessed from the file name when none is declared."""
    if mime_type and mime_type.strip():
        return mime_type.strip().lower()
    if not file_name:
        return ""
    suffix = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return _GUESSED_TYPES.get(suffix) or (mimetypes.guess_type(file_name)[0] or "")


def _sticker_kind(mime: str) -> KindDecision:
    if mime.startswith("video/"):
        return KindDecision(MediaKind.ANIMATION)
    if mime in ("image/webp", "image/png"):
        return KindDecision(MediaKind.IMAGE_DOCUMENT)
    return KindDecision(MediaKind.IMAGE_DOCUMENT, skipped=ANIMATED_STICKER_REASON)
