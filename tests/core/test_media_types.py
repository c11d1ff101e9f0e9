"""The one file sniffer: every format the service opens is recognised by content, everything else is not."""

from pathlib import Path

import pytest

from core.media_types import HEADER_BYTES, IMAGE_MIME_TYPES, VIDEO_MIME_TYPES, Family, sniff, sniff_file
from tests.factories import MEDIA_SAMPLES, audio_only_file, media_sample

DEMUXERS = {"mp4": "mov", "mov": "mov", "3gp": "mov", "mkv": "matroska", "webm": "matroska", "avi": "avi"}


@pytest.mark.parametrize("name", sorted(MEDIA_SAMPLES))
def test_every_format_is_recognised_from_its_first_bytes(tmp_path: Path, name: str) -> None:
    scan_kind, mime_type = MEDIA_SAMPLES[name]
    path = tmp_path / "upload.bin"
    path.write_bytes(media_sample(name, tmp_path))

    sniffed = sniff_file(path)

    assert sniffed is not None
    assert (sniffed.family, sniffed.mime_type) == (Family.VIDEO if scan_kind == "video" else Family.IMAGE, mime_type)
    assert sniffed.demuxer == DEMUXERS.get(name)
    assert sniffed.mime_type in (IMAGE_MIME_TYPES if sniffed.is_image else VIDEO_MIME_TYPES)


@pytest.mark.parametrize(
    "header",
    [
        b"",
        b"just some text\n",
        b"%PDF-1.4\n%%EOF\n",
        b"BMW service report, 2024\n" * 3,
        bytes.fromhex("00000018") + b"ftyphevc" + bytes(12),
        bytes.fromhex("00000018") + b"ftypavif" + bytes(12),
        bytes.fromhex("00000018") + b"ftypM4A " + bytes(12),
        b"OggS" + bytes(60),
        b"#EXTM3U\n#EXT-X-VERSION:3\n",
    ],
    ids=["empty", "text", "pdf", "bm-text", "heif-sequence", "avif", "m4a", "ogg", "playlist"],
)
def test_other_files_are_not_media(header: bytes) -> None:
    assert sniff(header) is None


def test_an_mp4_without_a_video_stream_still_sniffs_as_a_video_container(tmp_path: Path) -> None:
    """The sniffer reads the container, not the streams: decoding then says `no_video_stream`."""
    sniffed = sniff_file(audio_only_file(tmp_path / "voice.mp4"))
    assert sniffed is not None and sniffed.demuxer == "mov"


def test_the_header_is_enough_for_a_webm_doc_type(tmp_path: Path) -> None:
    sniffed = sniff(media_sample("webm", tmp_path)[:HEADER_BYTES])
    assert sniffed is not None and sniffed.mime_type == "video/webm"
