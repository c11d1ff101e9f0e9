"""Decoding uploaded images into RGB pixels, deciding by content and refusing what is unsafe to open."""

from __future__ import annotations

import functools
import io
import itertools
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from core.errors import InputRejected
from core.media_types import IMAGE_FORMATS, sniff

DEFAULT_MAX_PIXELS = 50_000_000
"""The default limit on the pixels of an image or a video frame (the setting `IMPWATCH_MAX_IMAGE_PIXELS`)."""
ALLOWED_IMAGE_FORMATS = frozenset(name.upper() for name in IMAGE_FORMATS)
"""Pillow's names of the formats `core.media_types` recognises; Pillow opens no other."""
_FORMATS_TEXT = ", ".join(IMAGE_FORMATS)
_ALPHA_BACKGROUND = (255, 255, 255)
ANIMATED_FORMATS = frozenset({"GIF", "WEBP", "PNG"})
"""Pillow's names of the formats whose files may be animations: GIF, animated WebP and APNG."""
_BRIEF_FRAME_MS = 10
_BRIEF_FRAME_SHOWN_MS = 100
"""Browsers show a frame that asks for 10 ms or less (often 0) for 100 ms; so are its frames timed here."""
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombWarning)


class ImageRejected(InputRejected):
    """An image that cannot or must not be decoded."""


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode image bytes into an upright HxWx3 uint8 RGB array.

    The format is decided by content, never by file name. The pixel count is checked from the header before any
    pixel is decoded, so a decompression bomb costs nothing. EXIF orientation is applied; alpha is flattened onto
    white; 16- and 32-bit channels are scaled down to 8 bits.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open_checked(data, max_pixels)
        try:
            image.load()
            image = ImageOps.exif_transpose(image)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise ImageRejected("corrupt_image", f"the image is damaged or truncated: {exc}") from exc
    return np.asarray(_to_rgb(image))


def _open_checked(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageRejected("empty_file", "the file is empty")
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # face_recognition turns it on at import; a truncated file is refused
    _register_heif_opener()
    try:
        image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_IMAGE_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("image_too_large", f"the image has too many pixels: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(
            "not_an_image", f"the file is not an image in a supported format ({_FORMATS_TEXT})"
        ) from exc
    _check_size(image, max_pixels)
    return image


@functools.cache
def _register_heif_opener() -> None:
    """Teach Pillow HEIF/HEIC (pillow-heif), once, when an image is first decoded (not at import: CLI start-up)."""
    from pillow_heif import register_heif_opener

    register_heif_opener()


def _check_size(image: Image.Image, max_pixels: int) -> None:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(
            "image_too_large", f"the image is {width}x{height} pixels, over the limit of {max_pixels} pixels"
        )
    if width == 0 or height == 0:
        raise ImageRejected("corrupt_image", "the image has no pixels")


@dataclass(frozen=True)
class AnimationFrame:
    """One frame of an animation and the time it is shown from, in seconds. `image` is the decoder's current frame,
    valid until the next one is read: take `rgb()` before."""

    timestamp: float
    image: Image.Image

    def rgb(self) -> np.ndarray:
        return np.asarray(_to_rgb(ImageOps.exif_transpose(self.image)))


class Animation:
    """An animated GIF, WebP or PNG, read frame after frame (each frame is drawn over the ones before, so none can
    be skipped undecoded); one frame is held at a time."""

    def __init__(self, image: Image.Image, max_pixels: int) -> None:
        self._image = image
        self._max_pixels = max_pixels
        self.width, self.height = image.size
        self.duration: float | None = None
        """Seconds the animation lasts (once), known when its last frame has been read."""

    def frames(self) -> Iterator[AnimationFrame]:
        """Every frame in order; raises `ImageRejected` for a damaged frame (`corrupt_image`) or one that would grow
        the picture over the pixel limit (`image_too_large`; a GIF frame may reach past the first one's size)."""
        shown_ms = 0
        for index in itertools.count():
            try:
                self._image.seek(index)
            except EOFError:
                self.duration = shown_ms / 1000
                return
            except Image.DecompressionBombError as exc:
                raise ImageRejected("image_too_large", f"frame {index + 1} has too many pixels: {exc}") from exc
            except _PILLOW_ERRORS as exc:
                raise ImageRejected("corrupt_image", f"frame {index + 1} is damaged: {exc}") from exc
            _check_size(self._image, self._max_pixels)
            try:
                self._image.load()
            except _PILLOW_ERRORS as exc:
                raise ImageRejected("corrupt_image", f"frame {index + 1} is damaged or truncated: {exc}") from exc
            yield AnimationFrame(shown_ms / 1000, self._image)
            duration = self._image.info.get("duration") or 0
            shown_ms += round(duration) if duration > _BRIEF_FRAME_MS else _BRIEF_FRAME_SHOWN_MS


def open_animation(data: bytes, max_pixels: int) -> Animation | None:
    """The animation these image bytes hold, or None when they hold a still image (a GIF, WebP or PNG of one frame,
    or any other format). Refuses what `decode_image` refuses at opening, with the same reasons."""
    image = _open_checked(data, max_pixels)
    try:
        animated = image.format in ANIMATED_FORMATS and bool(getattr(image, "is_animated", False))
    except _PILLOW_ERRORS as exc:
        raise ImageRejected("corrupt_image", f"the image is damaged: {exc}") from exc
    return Animation(image, max_pixels) if animated else None


def is_animation_file(path: Path) -> bool:
    """True when the file is an image of a format that animates and holds more than one frame; raises `OSError`
    (or another Pillow error) when it cannot be read."""
    with Image.open(path, formats=sorted(ANIMATED_FORMATS)) as image:
        return bool(getattr(image, "is_animated", False))


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        wide = np.asarray(image, dtype=np.uint32)
        shift = 8 if image.mode.startswith("I;16") or wide.max(initial=0) <= 0xFFFF else 24
        return Image.fromarray((wide >> shift).astype(np.uint8), "L").convert("RGB")
    if image.mode == "F":
        return Image.fromarray(np.clip(np.asarray(image), 0, 255).astype(np.uint8), "L").convert("RGB")
    if image.mode == "P" or image.mode in ("LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, _ALPHA_BACKGROUND)
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB")


def is_probably_image(data: bytes) -> bool:
    """True when the bytes start like an image format we open (`core.media_types`, the rule every caller shares)."""
    sniffed = sniff(data)
    return sniffed is not None and sniffed.is_image


def encode_jpeg(pixels: np.ndarray, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
