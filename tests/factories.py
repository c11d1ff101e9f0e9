"""Factory functions for test data: people enrolled from real photos, and bad inputs made on the fly."""

from __future__ import annotations

import fractions
import io
import uuid
from pathlib import Path

import av
import numpy as np
from PIL import Image
from pillow_heif import register_heif_opener
from sqlmodel import Session, select

from app.auth import service as auth
from app.auth.models import Organization
from app.runtime import Runtime
from core.scope import Scope
from tests.support import fixture_bytes, fixture_path
from watchers.service import WatchIntervals
from watchlist import service
from watchlist.engine import CENTERFACE, Box, EngineOptions, FaceEngine
from watchlist.images import decode_image
from watchlist.models import Person
from watchlist.schemas import PersonCreate

DEFAULT_ORGANIZATION = "Test press office"
WATCH_INTERVALS = WatchIntervals(default_seconds=60, min_seconds=1)
"""How the tests' watches run: every minute unless they say otherwise, and as often as every second if they do."""


def organization_id(runtime: Runtime, name: str = DEFAULT_ORGANIZATION) -> uuid.UUID:
    """The organisation of this name, created (committed) the first time it is asked for."""
    with Session(runtime.db_engine) as session:
        found = session.exec(select(Organization).where(Organization.name == name)).first()
        if found is None:
            found = auth.create_organization(session, name)
            session.commit()
        return found.id


def api_key(runtime: Runtime, role: str, organization: str = DEFAULT_ORGANIZATION, **fields: object) -> str:
    """A new key of this role (of the named organisation unless it is an operator's), committed; its plaintext."""
    owner = None if role == "operator" else organization_id(runtime, organization)
    with Session(runtime.db_engine) as session:
        issued = auth.issue_key(session, role, owner, f"test {role}", **fields)
        session.commit()
        return issued.plaintext


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def enrol_person(
    runtime: Runtime, name: str, *photos: str, organization: str = DEFAULT_ORGANIZATION, **fields: object
) -> Person:
    """Create a person of the named organisation and enrol the named fixture photos, committed."""
    scope = Scope(role="org_admin", organization_id=organization_id(runtime, organization))
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        person = service.create_person(session, PersonCreate(display_name=name, **fields), scope)
        for photo in photos:
            service.enrol_face(session, person, fixture_bytes(photo), runtime.face_engine, runtime.enrolment_policy)
        session.commit()
        return person


def png_bytes(pixels: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode).save(buffer, format="PNG")
    return buffer.getvalue()


def faceless_photo() -> bytes:
    """A smooth gradient: a real, decodable image with no face in it."""
    ramp = np.linspace(0, 255, 320, dtype=np.uint8)
    return png_bytes(np.dstack([np.tile(ramp, (240, 1))] * 3))


def small_face_photo(face_width: int) -> tuple[np.ndarray, Box]:
    """obama.jpg scaled so its face is `face_width` pixels wide, on a grey news-photo-sized canvas, and where the
    face is."""
    rgb = decode_image(fixture_bytes("obama.jpg"), 50_000_000)
    [face] = FaceEngine(EngineOptions(face_detector=CENTERFACE)).detect(rgb)
    scale = face_width / face.width
    height, width = rgb.shape[:2]
    scaled = Image.fromarray(rgb).resize((round(width * scale), round(height * scale)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (1024, 683), (128, 128, 128))
    canvas.paste(scaled, (600, 300))
    where = Box(
        top=300 + round(face.top * scale),
        right=600 + round(face.right * scale),
        bottom=300 + round(face.bottom * scale),
        left=600 + round(face.left * scale),
    )
    return np.asarray(canvas), where


def decompression_bomb(side: int = 20_000) -> bytes:
    """A tiny 1-bit PNG that claims `side` x `side` pixels."""
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    data = fixture_bytes("obama.jpg")
    return data[: len(data) // 3]


def audio_only_file(path: Path, seconds: float = 1.0) -> Path:
    """A real M4A (AAC) file with an audio stream and no video stream."""
    rate = 16_000
    with av.open(str(path), mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        samples = (np.sin(np.linspace(0, 440 * 2 * np.pi * seconds, int(rate * seconds))) * 0.3).astype(np.float32)
        frame_size = 1024
        for start in range(0, len(samples), frame_size):
            chunk = samples[start : start + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def clip_in_container(path: Path, container: str, codec: str, seconds: float = 3.0) -> Path:
    """The first `seconds` of the sample clip re-encoded with `codec` into `container` (an FFmpeg muxer name): a
    real video in a container of our choosing."""
    rate = 25
    with av.open(str(fixture_path("short_hamilton_clip.mp4"))) as source, av.open(str(path), "w", container) as out:
        decoded = source.streams.video[0]
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = decoded.width, decoded.height, "yuv420p"
        for index, frame in enumerate(source.decode(decoded)):
            if frame.time is not None and frame.time > seconds:
                break
            copy = av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24").reformat(
                format="yuv420p"
            )
            copy.pts, copy.time_base = index, fractions.Fraction(1, rate)
            out.mux(stream.encode(copy))
        out.mux(stream.encode(None))
    return path


def hls_playlist(path: Path, segment: Path) -> Path:
    """An HLS playlist whose one segment is the file `segment`."""
    path.write_text(f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:9.0,\n{segment}\n#EXT-X-ENDLIST\n")
    return path


MEDIA_SAMPLES = {
    "jpeg": ("photo", "image/jpeg"),
    "png": ("photo", "image/png"),
    "webp": ("photo", "image/webp"),
    "gif": ("photo", "image/gif"),
    "animated_gif": ("animation", "image/gif"),
    "animated_webp": ("animation", "image/webp"),
    "animated_png": ("animation", "image/png"),
    "bmp": ("photo", "image/bmp"),
    "tiff": ("photo", "image/tiff"),
    "heic": ("photo", "image/heic"),
    "mp4": ("video", "video/mp4"),
    "mov": ("video", "video/quicktime"),
    "3gp": ("video", "video/3gpp"),
    "mkv": ("video", "video/x-matroska"),
    "webm": ("video", "video/webm"),
    "avi": ("video", "video/x-msvideo"),
}
"""Every format the service opens: its sample's name -> (what a scan calls it, the MIME type it is sniffed as)."""
_VIDEO_MUXERS = {
    "mp4": ("mp4", "mpeg4"),
    "mov": ("mov", "mpeg4"),
    "3gp": ("3gp", "mpeg4"),
    "mkv": ("matroska", "mpeg4"),
    "webm": ("webm", "libvpx"),
    "avi": ("avi", "mpeg4"),
}


def media_sample(name: str, folder: Path) -> bytes:
    """A small real file of the `MEDIA_SAMPLES` format `name`: a faceless image (or animation) saved by Pillow, or
    the first second of the sample clip re-encoded (written under `folder` on the way)."""
    if name in _VIDEO_MUXERS:
        container, codec = _VIDEO_MUXERS[name]
        return clip_in_container(folder / f"sample.{name}", container, codec, seconds=1.0).read_bytes()
    if name.startswith("animated_"):
        colours = [(90, 140, 200), (200, 140, 90), (90, 200, 140)]
        frames = [np.full((48, 64, 3), colour, np.uint8) for colour in colours]
        return animation_bytes(name.removeprefix("animated_").upper(), frames)
    buffer = io.BytesIO()
    if name == "heic":
        register_heif_opener()
    Image.new("RGB", (64, 48), (90, 140, 200)).save(buffer, format="HEIF" if name == "heic" else name.upper())
    return buffer.getvalue()


def fixture_rgb(name: str, scale: float = 1.0) -> np.ndarray:
    """A fixture photo as RGB pixels, resized by `scale`, cropped to even sides (what yuv420p video needs)."""
    image = Image.open(fixture_path(name)).convert("RGB")
    if scale != 1.0:
        image = image.resize((round(image.width * scale), round(image.height * scale)))
    pixels = np.asarray(image)
    return np.ascontiguousarray(pixels[: pixels.shape[0] // 2 * 2, : pixels.shape[1] // 2 * 2])


def video_of(
    path: Path, container: str, codec: str, pixels: np.ndarray, *, seconds: float, rate: int, start_seconds: float = 0
) -> Path:
    """`seconds` of the same picture, `rate` frames a second, the first frame's timestamp at `start_seconds` (a
    clip cut from a long recording keeps its timestamps), encoded with `codec` into `container`."""
    time_base = fractions.Fraction(1, rate)
    with av.open(str(path), "w", container) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = pixels.shape[1], pixels.shape[0], "yuv420p"
        stream.time_base = time_base
        if codec == "libvpx":
            stream.options = {"deadline": "realtime", "cpu-used": "8"}  # its default takes seconds a frame
        picture = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(format="yuv420p")
        for index in range(round(seconds * rate)):
            picture.pts, picture.time_base = round(start_seconds * rate) + index, time_base
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path


def face_clip(path: Path, container: str, codec: str, start_seconds: float = 0, seconds: float = 10) -> Path:
    """A clip with Barack Obama's face (obama.jpg at half size) in every frame, two frames a second."""
    return video_of(
        path, container, codec, fixture_rgb("obama.jpg", 0.5), seconds=seconds, rate=2, start_seconds=start_seconds
    )


def pixel_bomb_video(path: Path, *sides: int, container: str = "mov", codec: str = "libx264") -> Path:
    """A video stream per side, each of two uniform grey frames of `side` x `side` pixels: a small file (uniform
    frames compress to almost nothing) whose decoded frames are as large as one likes."""
    with av.open(str(path), "w", container) as out:
        streams = []
        for side in sides:
            stream = out.add_stream(codec, rate=1)
            stream.width, stream.height, stream.pix_fmt = side, side, "yuv420p"
            streams.append(stream)
        for index in range(2):
            for side, stream in zip(sides, streams, strict=True):
                picture = av.VideoFrame(side, side, "yuv420p")
                for plane in picture.planes:
                    plane.update(bytes([128]) * plane.buffer_size)
                picture.pts = index
                out.mux(stream.encode(picture))
        for stream in streams:
            out.mux(stream.encode(None))
    return path


def animation_bytes(image_format: str, frames: list[np.ndarray], duration_ms: int = 500) -> bytes:
    """An animation of these frames (all of one size), each shown `duration_ms`, in `image_format` (Pillow's name:
    GIF, WEBP, or PNG for an APNG)."""
    images = [Image.fromarray(frame) for frame in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, image_format, save_all=True, append_images=images[1:], duration=duration_ms, loop=0)
    return buffer.getvalue()


def face_mosaic(*tiles: tuple[str, float], columns: int) -> bytes:
    """A PNG of fixture photos, each resized by its scale, in a grid of `columns`: many real faces of known sizes."""
    images = [Image.fromarray(fixture_rgb(name, scale)) for name, scale in tiles]
    cell_width, cell_height = max(image.width for image in images), max(image.height for image in images)
    rows = -(-len(images) // columns)
    canvas = Image.new("RGB", (cell_width * columns, cell_height * rows), (128, 128, 128))
    for index, image in enumerate(images):
        canvas.paste(image, ((index % columns) * cell_width, (index // columns) * cell_height))
    return png_bytes(np.asarray(canvas))
