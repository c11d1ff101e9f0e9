"""Re-uploads of a photo the way channels make them: re-compressed, resized, cropped a little, watermarked.
Used by the perceptual cluster tests and by `bench/campaign_reuploads.py`."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw


def recompressed(image: Image.Image) -> Image.Image:
    """Saved again as JPEG at quality 60."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=60)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def resized(image: Image.Image) -> Image.Image:
    """Scaled to 0.75 of its width and height."""
    return image.resize((round(image.width * 0.75), round(image.height * 0.75)), Image.Resampling.LANCZOS)


def cropped(image: Image.Image) -> Image.Image:
    """5% of the width and height cut off, from the right and bottom edges."""
    return image.crop((0, 0, round(image.width * 0.95), round(image.height * 0.95)))


def watermarked(image: Image.Image) -> Image.Image:
    """A channel's opaque banner with its name across the bottom-right corner."""
    marked = image.convert("RGB").copy()
    draw = ImageDraw.Draw(marked)
    width, height = marked.size
    box = (width * 0.6, height * 0.88, width * 0.98, height * 0.97)
    draw.rectangle(box, fill=(20, 20, 20))
    draw.text((box[0] + 4, box[1] + 2), "@daily_leaks", fill=(255, 255, 255))
    return marked


COPIES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "jpeg_q60": recompressed,
    "resized_075": resized,
    "cropped_5": cropped,
    "watermarked": watermarked,
}
REENCODES = ("jpeg_q60", "resized_075")
EDITS = ("cropped_5", "watermarked")


def write_copy(original: Path, how: str, target: Path) -> Path:
    """Write one re-upload of `original` (`how` names one of `COPIES`) as a JPEG at `target`."""
    with Image.open(original) as image:
        COPIES[how](image.convert("RGB")).save(target, "JPEG", quality=90 if how != "jpeg_q60" else 60)
    return target
