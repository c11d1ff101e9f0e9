"""Frames from videos, animations and round videos, decoded with PyAV and sampled in time.

Frames are streamed: one decoded frame is held at a time, so a long video is scanned in bounded memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from core.errors import InputRejected
from core.media_types import HEADER_BYTES, VIDEO_FORMATS, sniff


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


class SampledVideo:
    """Opens a video and yields sampled frames; `info` is filled in as frames are read."""

    def __init__(self, path: Path, sampling: FrameSampling) -> None:
        self._sampling = sampling
        with path.open("rb") as stream:
            demuxer = video_demuxer(stream.read(HEADER_BYTES))
        if demuxer is None:
            raise VideoRejected(
                "unsupported_media", f"the file is not a video container we open ({ALLOWED_CONTAINERS})"
            )
        try:
            self._container = av.open(str(path), mode="r", format=demuxer, options=_FILE_ONLY)
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise VideoRejected("not_a_video", f"the file is not a video in a supported format: {exc}") from exc
        if not self._container.streams.video:
            self._container.close()
            raise VideoRejected("no_video_stream", "the file has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.info = VideoInfo(
            duration=self._duration(), width=self._stream.codec_context.width, height=self._stream.codec_context.height
        )
        if self.info.duration is not None and self.info.duration > sampling.max_seconds:
            self._container.close()
            raise VideoRejected(
                "video_too_long",
                f"the video lasts {self.info.duration:.0f} s, over the limit of {sampling.max_seconds:.0f} s",
            )

    def _duration(self) -> float | None:
        if self._stream.duration is not None and self._stream.time_base is not None:
            return float(self._stream.duration * self._stream.time_base)
        if self._container.duration is not None:
            return self._container.duration / av.time_base
        return None

    def frames(self) -> Iterator[VideoFrame]:
        interval = 1.0 / self._sampling.fps
        next_due = -math.inf
        try:
            for frame in self._container.decode(self._stream):
                timestamp = float(frame.time) if frame.time is not None else 0.0
                if timestamp > self._sampling.max_seconds:
                    self.info.truncated = True
                    return
                if timestamp < next_due:
                    continue
                if self.info.frames_sampled >= self._sampling.max_frames:
                    self.info.truncated = True
                    return
                self.info.frames_sampled += 1
                next_due = (math.floor(timestamp / interval) + 1) * interval if next_due > -math.inf else interval
                yield VideoFrame(timestamp, frame.to_ndarray(format="rgb24"))
        except av.error.FFmpegError as exc:
            if self.info.frames_sampled == 0:
                raise VideoRejected("corrupt_video", f"the video cannot be decoded: {exc}") from exc
            self.info.truncated = True
        finally:
            self._container.close()

    def close(self) -> None:
        self._container.close()
