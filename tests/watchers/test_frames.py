import itertools

import av
import pytest

from tests.factories import audio_only_file, clip_in_container, face_clip, hls_playlist, pixel_bomb_video
from tests.support import fixture_path
from watchers.frames import FrameSampling, SampledVideo, VideoRejected

CLIP = fixture_path("short_hamilton_clip.mp4")


def test_first_frame_then_one_a_second() -> None:
    """Seconds from the video's first frame: the clip's video starts 0.852 s into the file (its audio earlier)."""
    video = SampledVideo(CLIP, FrameSampling(fps=1.0))
    stamps = [frame.timestamp for frame in video.frames()]
    assert video.info.width == 640 and video.info.height == 360
    assert stamps[0] == 0.0
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


@pytest.mark.parametrize(("container", "codec"), [("mp4", "mpeg4"), ("matroska", "mpeg4"), ("webm", "libvpx")])
def test_time_is_measured_from_the_first_frame(tmp_path, container: str, codec: str) -> None:
    """A clip whose timestamps start 2000 s in (cut from a long recording) lasts 10 s, not 2010 s (Matroska's
    header says where it ends), and is sampled from its first frame, not from a time it never reaches."""
    video = SampledVideo(face_clip(tmp_path / "clip.bin", container, codec, start_seconds=2000), FrameSampling())
    assert video.info.duration == pytest.approx(10, abs=0.5)
    assert [frame.timestamp for frame in video.frames()] == pytest.approx(list(range(10)))
    assert (video.info.frames_sampled, video.info.truncated) == (10, False)


def test_the_duration_cap_counts_from_the_first_frame(tmp_path) -> None:
    with pytest.raises(VideoRejected) as refused:
        SampledVideo(
            face_clip(tmp_path / "clip.mkv", "matroska", "mpeg4", start_seconds=2000), FrameSampling(max_seconds=5)
        )
    assert refused.value.code == "video_too_long" and "lasts 10 s" in refused.value.message


@pytest.mark.parametrize(("container", "codec"), [("mov", "libx264"), ("mov", "mpeg4"), ("matroska", "libvpx")])
def test_frames_over_the_pixel_limit_are_refused_before_any_is_decoded(tmp_path, container: str, codec: str) -> None:
    """The frame size is read from the header (mpeg4's decoder, asked to probe past the limit, leaves it unknown,
    which is refused too); under a higher limit the same file is decoded."""
    bomb = pixel_bomb_video(tmp_path / "bomb.bin", 2000, container=container, codec=codec)
    assert bomb.stat().st_size < 100_000, "a small file"
    with pytest.raises(VideoRejected) as refused:
        SampledVideo(bomb, FrameSampling(), max_pixels=1_000_000)
    assert refused.value.code == "video_frame_too_large"
    assert "1000000 pixels" in refused.value.message
    assert len(list(SampledVideo(bomb, FrameSampling(), max_pixels=4_000_000).frames())) == 2


def test_every_video_stream_is_held_to_the_pixel_limit(tmp_path) -> None:
    """Only the first video stream is decoded, but FFmpeg probes every one: a huge second stream is refused too."""
    bomb = pixel_bomb_video(tmp_path / "bomb.mkv", 320, 2000, container="matroska", codec="libvpx")
    with pytest.raises(VideoRejected) as refused:
        SampledVideo(bomb, FrameSampling(), max_pixels=1_000_000)
    assert refused.value.code == "video_frame_too_large" and "2000x2000" in refused.value.message
