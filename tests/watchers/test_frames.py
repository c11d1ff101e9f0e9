import itertools

import av
import pytest

from tests.factories import audio_only_file, clip_in_container, hls_playlist
from tests.support import fixture_path
from watchers.frames import FrameSampling, SampledVideo, VideoRejected

CLIP = fixture_path("short_hamilton_clip.mp4")


def test_first_frame_then_one_a_second() -> None:
    video = SampledVideo(CLIP, FrameSampling(fps=1.0))
    stamps = [frame.timestamp for frame in video.frames()]
    assert video.info.width == 640 and video.info.height == 360
    assert stamps[0] == pytest.approx(0.852, abs=0.01)
    assert len(stamps) == 10
    assert all(b - a >= 0.1 for a, b in itertools.pairwise(stamps))
    assert not video.info.truncated


def test_sampling_rate_is_settable() -> None:
    assert len(list(SampledVideo(CLIP, FrameSampling(fps=4.0)).frames())) >= 34


def test_frame_cap_truncates_and_says_so() -> None:
    video = SampledVideo(CLIP, FrameSampling(max_frames=3))
    assert len(list(video.frames())) == 3
    assert video.info.truncated


def test_duration_cap_refuses_long_videos() -> None:
    with pytest.raises(VideoRejected) as refused:
        SampledVideo(CLIP, FrameSampling(max_seconds=5))
    assert refused.value.code == "video_too_long"


def test_audio_only_file_has_no_video_stream(tmp_path) -> None:
    with pytest.raises(VideoRejected) as refused:
        SampledVideo(audio_only_file(tmp_path / "voice.m4a"), FrameSampling())
    assert refused.value.code == "no_video_stream"


def test_garbage_is_not_a_video(tmp_path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(VideoRejected) as refused:
        SampledVideo(path, FrameSampling())
    assert refused.value.code == "unsupported_media"


def test_damaged_video_in_an_allowed_container_is_not_a_video(tmp_path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(CLIP.read_bytes()[:48] + b"\x00" * 1000)
    with pytest.raises(VideoRejected) as refused:
        list(SampledVideo(path, FrameSampling()).frames())
    assert refused.value.code in ("not_a_video", "corrupt_video")


@pytest.mark.parametrize(("container", "codec"), [("matroska", "mpeg4"), ("webm", "libvpx"), ("avi", "mpeg4")])
def test_matroska_webm_and_avi_are_opened(tmp_path, container: str, codec: str) -> None:
    video = SampledVideo(clip_in_container(tmp_path / "clip.bin", container, codec), FrameSampling())
    assert [round(frame.timestamp) for frame in video.frames()] == [0, 1, 2]


@pytest.mark.parametrize(("container", "codec"), [("flv", "flv"), ("mpegts", "mpeg2video")])
def test_other_containers_are_never_handed_to_ffmpeg(tmp_path, container: str, codec: str) -> None:
    with pytest.raises(VideoRejected) as refused:
        SampledVideo(clip_in_container(tmp_path / "clip.mp4", container, codec), FrameSampling())
    assert refused.value.code == "unsupported_media"


def test_a_playlist_is_not_followed(tmp_path) -> None:
    """FFmpeg left to probe a playlist opens it and reads the files (or URLs) it names; the service never does."""
    segment = clip_in_container(tmp_path / "segment.ts", "mpegts", "mpeg2video")
    playlist = hls_playlist(tmp_path / "upload.m3u8", segment)
    with av.open(str(playlist)) as probed:
        assert probed.format.name == "hls" and probed.streams.video, "FFmpeg follows the playlist"
    with pytest.raises(VideoRejected) as refused:
        SampledVideo(playlist, FrameSampling())
    assert refused.value.code == "unsupported_media"
