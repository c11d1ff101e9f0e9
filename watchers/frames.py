"""Frames from videos and round videos (decoded with PyAV) and from animated images (GIF, WebP, APNG, decoded with
Pillow), sampled in time by one rule.

Frames are streamed: one decoded frame is held at a time, so a long video is scanned in bounded memory. Time is
measured from the first frame: a clip cut from a long recording may keep timestamps that start far in.

PyAV is imported by the video reader that uses it, not with this module.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from core.errors import InputRejected
from core.media_types import HEADER_BYTES, VIDEO_FORMATS, sniff
from watchlist.images import DEFAULT_MAX_PIXELS, Animation, ImageRejected

if TYPE_CHECKING:
    import av

T = TypeVar("T")


class VideoRejected(InputRejected):
    """A file that cannot or must not be decoded as a video."""


ALLOWED_CONTAINERS = ", ".join(VIDEO_FORMATS)
_FILE_ONLY = {"protocol_whitelist": "file"}
"""No demuxer may open another URL or protocol (playlists, references to other files or the network)."""


def video_demuxer(head: bytes) -> str | None:
    """The FFmpeg demuxer for a video container we open, from the file's first bytes (`core.media_types`): ISO
    BMFF/QuickTime (MP4, MOV, 3GP) -> `mov`, EBML (Matroska, WebM) -> `matroska`, RIFF AVI -> `avi`. None for
    anything else, which is never handed to FFmpeg: its format probing is not trusted to pick the demuxer (left to
    it, an HLS playlist, say, is opened and the files or URLs it names are read)."""
    sniffed = sniff(head)
    return sniffed.demuxer if sniffed is not None else None


@dataclass(frozen=True)
class FrameSampling:
    """Take the first frame, then `fps` frames a second, at most `max_frames`, from at most `max_seconds`."""

    fps: float = 1.0
    max_seconds: float = 1800.0
    max_frames: int = 1800


@dataclass(frozen=True)
class VideoFrame:
    timestamp: float
    rgb: np.ndarray


@dataclass
class VideoInfo:
    duration: float | None
    width: int
    height: int
    frames_sampled: int = 0
    truncated: bool = False


def sampled(timed: Iterable[tuple[float, T]], sampling: FrameSampling, info: VideoInfo) -> Iterator[tuple[float, T]]:
    """The items of `(seconds from the first frame, frame)` that `sampling` takes: the first, then the first at or
    after each `1 / fps` second; counted in `info`, which says `truncated` once the frame or time cap stops it."""
    interval = 1.0 / sampling.fps
    next_due = -math.inf
    for timestamp, item in timed:
        if timestamp > sampling.max_seconds:
            info.truncated = True
            return
        if timestamp < next_due:
            continue
        if info.frames_sampled >= sampling.max_frames:
            info.truncated = True
            return
        info.frames_sampled += 1
        next_due = (math.floor(timestamp / interval) + 1) * interval
        yield timestamp, item


class SampledVideo:
    """Opens a video and yields sampled frames; `info` is filled in as frames are read.

    Every video stream's frame size is read from the header and held to `max_pixels` before a frame is decoded (a
    file of a few kilobytes can hold frames of 16000x16000); FFmpeg's probing of the streams at opening and the
    decoder are held to it too (with a margin), so a frame larger than its header says is never allocated either.
    """

    def __init__(self, path: Path, sampling: FrameSampling, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        import av

        self._sampling = sampling
        self._max_pixels = max_pixels
        with path.open("rb") as stream:
            demuxer = video_demuxer(stream.read(HEADER_BYTES))
        if demuxer is None:
            raise VideoRejected(
                "unsupported_media", f"the file is not a video container we open ({ALLOWED_CONTAINERS})"
            )
        self._demuxer = demuxer
        # FFmpeg counts rows padded to its memory alignment, so its own limit needs a margin; the frame size is
        # held to `max_pixels` exactly below, from the header.
        decoder_limit = {"max_pixels": str(2 * max_pixels)}
        try:
            self._container = av.open(str(path), mode="r", format=demuxer, options=_FILE_ONLY | decoder_limit)
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise VideoRejected("not_a_video", f"the file is not a video in a supported format: {exc}") from exc
        try:
            self._stream = self._checked_streams()
        except VideoRejected:
            self._container.close()
            raise
        codec = self._stream.codec_context
        codec.options = decoder_limit
        self._stream.thread_type = "AUTO"
        self._origin = self._start_time()
        self.info = VideoInfo(duration=self._duration(), width=codec.width, height=codec.height)
        if self.info.duration is not None and self.info.duration > sampling.max_seconds:
            self._container.close()
            raise VideoRejected(
                "video_too_long",
                f"the video lasts {self.info.duration:.0f} s, over the limit of {sampling.max_seconds:.0f} s",
            )

    def _checked_streams(self) -> av.VideoStream:
        """The stream to decode (the first video stream), once every video stream's frames are within the limit."""
        streams = self._container.streams.video
        if not streams:
            raise VideoRejected("no_video_stream", "the file has no video stream")
        if streams[0].codec_context is None:
            raise VideoRejected("not_a_video", "the video's codec is not one we decode")
        for stream in streams:
            if stream.codec_context is None:
                continue  # never decoded, not even by FFmpeg's probing
            width, height = stream.codec_context.width, stream.codec_context.height
            if width * height > self._max_pixels:
                raise VideoRejected(
                    "video_frame_too_large",
                    f"the video's frames are {width}x{height} pixels, over the limit of {self._max_pixels} pixels",
                )
            if width == 0 or height == 0:
                # Every container we open states the size; FFmpeg's probe, held to the limit, forgets a size over it.
                raise VideoRejected(
                    "video_frame_too_large",
                    f"the video's frame size is unknown before decoding (FFmpeg leaves a frame over the limit of "
                    f"{self._max_pixels} pixels unsized)",
                )
        return streams[0]

    def _start_time(self) -> float | None:
        """When the video stream's first frame is shown, in the file's time; None when the header does not say (the
        first decoded frame's time is used)."""
        if self._stream.start_time is not None and self._stream.time_base is not None:
            return float(self._stream.start_time * self._stream.time_base)
        return None

    def _duration(self) -> float | None:
        """How long the video stream lasts from its first frame. FFmpeg counts a stream's duration from the stream's
        start and a file's from the file's start, except Matroska's: its header states where the segment ends,
        counted from timestamp 0."""
        import av

        if self._stream.duration is not None and self._stream.time_base is not None:
            return float(self._stream.duration * self._stream.time_base)
        if self._container.duration is None:
            return None
        end = self._container.duration / av.time_base
        file_start = self._container.start_time / av.time_base if self._container.start_time is not None else 0.0
        if self._demuxer != "matroska":
            end += file_start
        return max(0.0, end - (self._origin if self._origin is not None else file_start))

    def _timed_frames(self) -> Iterator[tuple[float, av.VideoFrame]]:
        origin = self._origin
        for frame in self._container.decode(self._stream):
            if frame.time is None:
                yield 0.0, frame
                continue
            if origin is None:
                origin = float(frame.time)
            yield max(0.0, float(frame.time) - origin), frame

    def frames(self) -> Iterator[VideoFrame]:
        import av

        try:
            for timestamp, frame in sampled(self._timed_frames(), self._sampling, self.info):
                yield VideoFrame(timestamp, frame.to_ndarray(format="rgb24"))
        except av.error.FFmpegError as exc:
            if self.info.frames_sampled == 0:
                raise VideoRejected("corrupt_video", f"the video cannot be decoded: {exc}") from exc
            self.info.truncated = True
        finally:
            self._container.close()

    def close(self) -> None:
        self._container.close()


class SampledAnimation:
    """An animated image's frames, sampled in time like a video's; `info` is filled in as frames are read, its
    `duration` once the last frame is."""

    def __init__(self, animation: Animation, sampling: FrameSampling) -> None:
        self._animation = animation
        self._sampling = sampling
        self.info = VideoInfo(duration=None, width=animation.width, height=animation.height)

    def frames(self) -> Iterator[VideoFrame]:
        timed = ((frame.timestamp, frame) for frame in self._animation.frames())
        try:
            for timestamp, frame in sampled(timed, self._sampling, self.info):
                yield VideoFrame(timestamp, frame.rgb())
        except ImageRejected as exc:
            if exc.code != "corrupt_image" or self.info.frames_sampled == 0:
                raise
            self.info.truncated = True
        if not self.info.truncated:
            self.info.duration = self._animation.duration
