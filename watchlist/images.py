"""Decoding uploaded images into RGB pixels, deciding by content and refusing what is unsafe to open."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from core.errors import InputRejected
from core.media_types import IMAGE_FORMATS, sniff

ALLOWED_IMAGE_FORMATS = frozenset(name.upper() for name in IMAGE_FORMATS)
"""Pillow's names of the formats `core.media_types` recognises; Pillow opens no other."""
_FORMATS_TEXT = ", ".join(IMAGE_FORMATS)
_ALPHA_BACKGROUND = (255, 255, 255)


class ImageRejected(InputRejected):
    """An image that cannot or must not be decoded."""


def decode_image(data: bytes, max_pixels: int) -> np.ndarray:
    """Decode image bytes into an upright HxWx3 uint8 RGB array.

    The format is decided by content, never by file name. The pixel count is checked from the header before any
    pixel is decoded, so a decompression bomb costs nothing. EXIF orientation is applied; alpha is flattened onto
    white; 16- and 32-bit channels are scaled down to 8 bits.
    """
    if not data:
        raise ImageRejected("empty_file", "the file is empty")
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # face_recognition turns it on at import; a truncated file is refused
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
    try:
        image = Image.open(io.BytesIO(data), formats=sorted(ALLOWED_IMAGE_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("image_too_large", f"the image has too many pixels: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageRejected(
            "not_an_image", f"the file is not an image in a supported format ({_FORMATS_TEXT})"
        ) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ImageRejected(
            "image_too_large", f"the image is {width}x{height} pixels, over the limit of {max_pixels} pixels"
        )
    if width == 0 or height == 0:
        raise ImageRejected("corrupt_image", "the image has no pixels")
    return image


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
