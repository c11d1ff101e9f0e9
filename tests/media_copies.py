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


def write_copy(original: Path, how: str, target: Path, quality: int | None = None) -> Path:
    """Write one re-upload of `original` (`how` names one of `COPIES`) as a JPEG at `target`, saved at `quality`
    (by default 60 for `jpeg_q60`, 90 for the others)."""
    if quality is None:
        quality = 60 if how == "jpeg_q60" else 90
    with Image.open(original) as image:
        COPIES[how](image.convert("RGB")).save(target, "JPEG", quality=quality)
    return target


VIDEO_BITRATE = 250_000
"""The bit rate of every video copy (the sample clip is at about 420 kbit/s): a forward that is re-compressed."""
VIDEO_COPIES: dict[str, Callable[[Image.Image], Image.Image] | None] = {
    "reencoded": None,
    "resized_075": resized,
    "cropped_5": cropped,
    "watermarked": watermarked,
}
VIDEO_REENCODES = ("reencoded", "resized_075")


def write_video_copy(
    original: Path,
    how: str,
    target: Path,
    *,
    start: float = 0.0,
    seconds: float | None = None,
    bitrate: int = VIDEO_BITRATE,
) -> Path:
    """Write one re-upload of the video `original` (`how` names one of `VIDEO_COPIES`) as H.264 in MP4 at `bitrate`,
    frame by frame, with the frame rate kept; only its frames from `start` for `seconds` (all when None), so that
    clips cut from different parts of one video are different videos. No sound."""
    import av

    change = VIDEO_COPIES[how]
    with av.open(str(original)) as reader, av.open(str(target), mode="w") as writer:
        source = reader.streams.video[0]
        rate = source.average_rate or 30
        out = writer.add_stream("libx264", rate=rate, options={"preset": "veryfast", "threads": "1"})
        out.bit_rate = bitrate
        out.pix_fmt = "yuv420p"
        blank = Image.new("RGB", (source.codec_context.width, source.codec_context.height))
        side = change(blank).size if change is not None else blank.size
        out.width, out.height = side[0] // 2 * 2, side[1] // 2 * 2  # yuv420p: even sides
        written, origin = 0, None
        for frame in reader.decode(source):
            origin = float(frame.time or 0.0) if origin is None else origin
            moment = float(frame.time or 0.0) - origin
            if moment < start or (seconds is not None and moment >= start + seconds):
                continue
            picture = frame.to_image()
            if change is not None:
                picture = change(picture)
            picture = picture.crop((0, 0, out.width, out.height))
            encoded = av.VideoFrame.from_image(picture)
            encoded.pts = written
            written += 1
            writer.mux(out.encode(encoded))
        writer.mux(out.encode(None))
    return target
