"""What every source shares: cursors, capped copies, files inside a root, media kinds by content."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.factories import MEDIA_SAMPLES, media_sample
from watchers.sources.base import MediaKind, MediaTooLarge, NeedsAttention
from watchers.sources.helpers import (
    CappedWriter,
    copy_capped,
    copy_file_capped,
    file_inside,
    parse_cursor,
    read_chunks,
    refuse_declared_size,
    sniff_media,
)

# Cursors


@pytest.mark.parametrize(("cursor", "position"), [(None, None), ("", None), ("0", 0), ("42", 42), (" 7 ", 7)])
def test_a_cursor_is_a_position_or_the_start(cursor: str | None, position: int | None) -> None:
    assert parse_cursor(cursor, "a message id") == position


@pytest.mark.parametrize("cursor", ["next page", "-1", "+5", "1.5", "1_000", "12abc", "٣", " ", "0x10"])
def test_a_cursor_that_is_not_a_position_needs_attention_naming_it(cursor: str) -> None:
    with pytest.raises(NeedsAttention) as refused:
        parse_cursor(cursor, "a Telegram message id")
    assert refused.value.reason == f"cursor {cursor!r} is not a Telegram message id"


# Capped copies


def test_copy_capped_writes_everything_up_to_the_cap() -> None:
    dest = io.BytesIO()
    assert copy_capped([b"abc", b"de"], dest, max_bytes=5) == 5
    assert dest.getvalue() == b"abcde"


def test_copy_capped_stops_before_the_chunk_that_passes_the_cap() -> None:
    dest = io.BytesIO()
    with pytest.raises(MediaTooLarge) as refused:
        copy_capped(iter([b"abc", b"def", b"never read"]), dest, max_bytes=5)
    assert (refused.value.size, refused.value.limit) == (6, 5)
    assert dest.getvalue() == b"abc"


def test_the_capped_writer_counts_what_it_wrote() -> None:
    dest = io.BytesIO()
    writer = CappedWriter(dest, max_bytes=4)
    assert writer.write(b"ab") == 2
    with pytest.raises(MediaTooLarge):
        writer.write(b"cde")
    assert (writer.written, dest.getvalue()) == (2, b"ab")


def test_a_declared_size_over_the_cap_is_refused_before_reading() -> None:
    refuse_declared_size(None, 10)
    refuse_declared_size(10, 10)
    with pytest.raises(MediaTooLarge, match="11 bytes, over the 10-byte cap"):
        refuse_declared_size(11, 10)


def test_read_chunks_reads_a_stream_in_pieces() -> None:
    assert list(read_chunks(io.BytesIO(b"abcdefg"), size=3)) == [b"abc", b"def", b"g"]


def test_a_file_over_the_cap_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"x" * 2048)
    dest = io.BytesIO()

    with pytest.raises(MediaTooLarge) as refused:
        copy_file_capped(path, dest, max_bytes=1024)

    assert refused.value.size == 2048 and dest.getvalue() == b""
    copy_file_capped(path, dest, max_bytes=2048)
    assert dest.getvalue() == b"x" * 2048


def test_a_missing_file_needs_attention_naming_it(tmp_path: Path) -> None:
    with pytest.raises(NeedsAttention, match=r"gone\.jpg"):
        copy_file_capped(tmp_path / "gone.jpg", io.BytesIO(), 10)


# Files inside a root


def test_file_inside_resolves_a_relative_locator(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    assert file_inside(tmp_path, "sub/a.jpg") == (tmp_path / "sub" / "a.jpg").resolve()


@pytest.mark.parametrize("locator", ["../secret.jpg", "sub/../../secret.jpg", "/etc/hostname"])
def test_file_inside_refuses_a_locator_leading_out(tmp_path: Path, locator: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(NeedsAttention, match="outside"):
        file_inside(root, locator)


def test_file_inside_refuses_a_link_leading_out(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"x")
    (root / "link.jpg").symlink_to(tmp_path / "secret.jpg")
    with pytest.raises(NeedsAttention, match="outside"):
        file_inside(root, "link.jpg")


# Media kinds by content


@pytest.mark.parametrize("name", sorted(MEDIA_SAMPLES))
def test_images_are_photos_and_videos_are_videos_whatever_the_name(tmp_path: Path, name: str) -> None:
    scan_kind, mime_type = MEDIA_SAMPLES[name]
    path = tmp_path / "upload.txt"
    path.write_bytes(media_sample(name, tmp_path))

    sniffed = sniff_media(path)

    assert sniffed is not None
    assert (sniffed.kind, sniffed.mime_type) == (MediaKind(scan_kind), mime_type)


def test_an_animated_gif_is_an_animation(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (16, 16), (index * 80, 0, 0)) for index in range(3)]
    path = tmp_path / "loop.gif"
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)

    sniffed = sniff_media(path)

    assert sniffed is not None and (sniffed.kind, sniffed.mime_type) == (MediaKind.ANIMATION, "image/gif")


def test_what_is_not_media_or_cannot_be_read_is_none(tmp_path: Path) -> None:
    text = tmp_path / "photo.jpg"
    text.write_bytes(b"just some text, not a JPEG\n")
    assert sniff_media(text) is None
    assert sniff_media(tmp_path / "missing.jpg") is None
    assert sniff_media(tmp_path) is None
