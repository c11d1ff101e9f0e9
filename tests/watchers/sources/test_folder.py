"""The drop folder source, against real files in a temporary folder.

The kernel stamps every file with its real status-change time (ctime), and the source takes the later of that and
the modification time as the file's arrival. Most tests therefore run in a world one hour ahead of real time: the
injected clock says "now" is an hour from now and files get modification times in that world, which then decide
their order. No test sleeps.
"""

from __future__ import annotations

import io
import itertools
import os
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import av
import numpy as np
import pytest
from PIL import Image

from tests.watchers.sources.export_builder import fixture
from watchers.sources.base import FetchedPost, MediaKind, MediaTooLarge, NeedsAttention, Source, SourceContext
from watchers.sources.folder import FolderConfig, FolderSource, path_slot


class Clock:
    """An injectable clock, moved by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time() + 3600)


@pytest.fixture
def drop_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


def image_bytes(image_format: str, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(buffer, image_format)
    return buffer.getvalue()


def gif_bytes(frames: int) -> bytes:
    images = [Image.new("RGB", (16, 16), (index * 80, 0, 0)) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=frames > 1, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def video_bytes(tmp_path: Path, container: str, codec: str) -> bytes:
    """A three-frame 32x32 video encoded with PyAV."""
    path = tmp_path / f"encoded.{container}"
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream(codec, rate=10)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for index in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), index * 60, np.uint8), format="rgb24")
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path.read_bytes()


def drop(folder: Path, relative: str, content: bytes, clock: Clock, age: float = 60.0) -> Path:
    """Write a file last modified `age` seconds before the clock's now."""
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    modified = clock.now - age
    os.utime(path, (modified, modified))
    return path


def make_source(folder: Path, clock: Clock, **config: object) -> FolderSource:
    return FolderSource(FolderConfig(path=str(folder), **config), SourceContext(), clock=clock)


def names(posts: list[FetchedPost]) -> list[str]:
    return [post.media[0].locator for post in posts]


def fetch_all(source: FolderSource, cursor: str | None = None) -> list[FetchedPost]:
    return list(source.fetch(cursor, 10_000))


def page_through(source: FolderSource, limit: int) -> list[FetchedPost]:
    posts: list[FetchedPost] = []
    cursor = None
    while page := list(source.fetch(cursor, limit)):
        posts.extend(page)
        cursor = page[-1].cursor
    return posts


def test_the_source_meets_the_protocol(drop_folder: Path, clock: Clock) -> None:
    assert isinstance(make_source(drop_folder, clock), Source)


@pytest.mark.parametrize(
    ("make_content", "kind", "mime_type"),
    [
        (lambda tmp: image_bytes("JPEG"), MediaKind.PHOTO, "image/jpeg"),
        (lambda tmp: image_bytes("PNG"), MediaKind.PHOTO, "image/png"),
        (lambda tmp: image_bytes("WEBP"), MediaKind.PHOTO, "image/webp"),
        (lambda tmp: image_bytes("BMP"), MediaKind.PHOTO, "image/bmp"),
        (lambda tmp: image_bytes("TIFF"), MediaKind.PHOTO, "image/tiff"),
        (lambda tmp: gif_bytes(frames=1), MediaKind.PHOTO, "image/gif"),
        (lambda tmp: gif_bytes(frames=3), MediaKind.ANIMATION, "image/gif"),
        (lambda tmp: fixture("short_hamilton_clip.mp4").read_bytes(), MediaKind.VIDEO, "video/mp4"),
        (lambda tmp: video_bytes(tmp, "mov", "mpeg4"), MediaKind.VIDEO, "video/quicktime"),
        (lambda tmp: video_bytes(tmp, "3gp", "mpeg4"), MediaKind.VIDEO, "video/3gpp"),
        (lambda tmp: video_bytes(tmp, "webm", "libvpx"), MediaKind.VIDEO, "video/webm"),
        (lambda tmp: video_bytes(tmp, "matroska", "mpeg4"), MediaKind.VIDEO, "video/x-matroska"),
        (lambda tmp: video_bytes(tmp, "avi", "mpeg4"), MediaKind.VIDEO, "video/x-msvideo"),
    ],
    ids=["jpeg", "png", "webp", "bmp", "tiff", "gif", "animated-gif", "mp4", "mov", "3gp", "webm", "mkv", "avi"],
)
def test_media_kind_is_decided_by_content_not_by_name(
    tmp_path: Path, drop_folder: Path, clock: Clock, make_content, kind: MediaKind, mime_type: str
) -> None:
    drop(drop_folder, "upload.bin", make_content(tmp_path), clock)

    [post] = fetch_all(make_source(drop_folder, clock))

    assert (post.media[0].kind, post.media[0].mime_type) == (kind, mime_type)


def test_files_that_are_not_photos_or_videos_are_ignored(drop_folder: Path, clock: Clock) -> None:
    drop(drop_folder, "photo.jpg", b"just some text, not a JPEG\n", clock)
    drop(drop_folder, "report.pdf", b"%PDF-1.4\n%%EOF\n", clock)
    drop(drop_folder, "empty.png", b"", clock)
    drop(drop_folder, "iphone.mp4", bytes.fromhex("00000018") + b"ftypavif" + bytes(12), clock)  # an AVIF image
    drop(drop_folder, "real.jpg", image_bytes("JPEG"), clock)

    assert names(fetch_all(make_source(drop_folder, clock))) == ["real.jpg"]


def test_only_files_new_since_the_cursor_are_yielded(drop_folder: Path, clock: Clock) -> None:
    source = make_source(drop_folder, clock)
    drop(drop_folder, "a.jpg", image_bytes("JPEG"), clock, age=30)
    drop(drop_folder, "b.png", image_bytes("PNG"), clock, age=20)
    first = fetch_all(source)

    clock.advance(60)
    drop(drop_folder, "c.webp", image_bytes("WEBP"), clock, age=30)
    drop(drop_folder, "d.mp4", fixture("short_hamilton_clip.mp4").read_bytes(), clock, age=10)
    second = fetch_all(source, first[-1].cursor)

    assert names(first) == ["a.jpg", "b.png"]
    assert names(second) == ["c.webp", "d.mp4"]
    assert fetch_all(source, second[-1].cursor) == []


def test_a_file_still_being_written_waits_for_the_next_run(drop_folder: Path, clock: Clock) -> None:
    source = make_source(drop_folder, clock, settle_seconds=2.0)
    drop(drop_folder, "done.jpg", image_bytes("JPEG"), clock, age=60)
    drop(drop_folder, "copying.mp4", fixture("short_hamilton_clip.mp4").read_bytes(), clock, age=0.5)

    first = fetch_all(source)
    clock.advance(5)
    second = fetch_all(source, first[-1].cursor)

    assert names(first) == ["done.jpg"]
    assert names(second) == ["copying.mp4"]


def test_a_file_moved_in_with_an_old_modification_time_is_still_new(tmp_path: Path, drop_folder: Path) -> None:
    """mv, rsync -a and sync tools keep a file's modification time; its arrival is what counts."""
    source = FolderSource(FolderConfig(path=str(drop_folder), settle_seconds=0), SourceContext())
    first_path = drop_folder / "first.jpg"
    first_path.write_bytes(image_bytes("JPEG"))
    first = fetch_all(source)
    old_photo = tmp_path / "from_last_year.jpg"
    old_photo.write_bytes(image_bytes("PNG"))
    os.utime(old_photo, (1_600_000_000, 1_600_000_000))
    wait_for_filesystem_clock_past(first_path.stat().st_ctime_ns, tmp_path)

    old_photo.rename(drop_folder / old_photo.name)
    second = fetch_all(source, first[-1].cursor)

    assert names(first) == ["first.jpg"]
    assert names(second) == ["from_last_year.jpg"]
    assert second[0].date.timestamp() == 1_600_000_000


def wait_for_filesystem_clock_past(timestamp_ns: int, scratch: Path) -> None:
    """Touch a probe file until the file system stamps a later millisecond than `timestamp_ns`."""
    probe = scratch / "clock-probe"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        probe.write_bytes(b"")
        if probe.stat().st_ctime_ns // 1_000_000 > timestamp_ns // 1_000_000:
            return
    raise AssertionError("the file system clock did not move for 5 seconds")


def test_subfolders_are_read_when_recursive(drop_folder: Path, clock: Clock) -> None:
    drop(drop_folder, "top.jpg", image_bytes("JPEG"), clock, age=30)
    drop(drop_folder, "2024/05/nested.png", image_bytes("PNG"), clock, age=20)

    assert names(fetch_all(make_source(drop_folder, clock))) == ["top.jpg", "2024/05/nested.png"]
    assert names(fetch_all(make_source(drop_folder, clock, recursive=False))) == ["top.jpg"]


def test_hidden_files_hidden_folders_partial_downloads_and_links_are_ignored(
    tmp_path: Path, drop_folder: Path, clock: Clock
) -> None:
    drop(drop_folder, ".hidden.jpg", image_bytes("JPEG"), clock)
    drop(drop_folder, ".thumbnails/small.jpg", image_bytes("JPEG"), clock)
    drop(drop_folder, "video.mp4.part", fixture("short_hamilton_clip.mp4").read_bytes(), clock)
    outside = drop(tmp_path, "outside.jpg", image_bytes("JPEG"), clock)
    (drop_folder / "link.jpg").symlink_to(outside)
    drop(drop_folder, "visible.jpg", image_bytes("JPEG"), clock)

    assert names(fetch_all(make_source(drop_folder, clock))) == ["visible.jpg"]


def test_posts_describe_the_file(drop_folder: Path, clock: Clock) -> None:
    path = drop(drop_folder, "2024/statement video.mp4", fixture("short_hamilton_clip.mp4").read_bytes(), clock)

    [post] = fetch_all(make_source(drop_folder, clock))

    assert post.text == "statement video.mp4"
    assert post.date.timestamp() == pytest.approx(clock.now - 60, abs=1e-6)
    assert post.date.utcoffset().total_seconds() == 0
    assert post.channel == str(drop_folder.resolve())
    assert Path(unquote(urlparse(post.permalink).path)) == path.resolve()
    assert post.media[0].locator == "2024/statement video.mp4"
    assert post.media[0].file_name == "statement video.mp4"
    assert post.media[0].size == path.stat().st_size


def test_a_file_keeps_its_message_id_from_run_to_run(drop_folder: Path, clock: Clock) -> None:
    drop(drop_folder, "a.jpg", image_bytes("JPEG"), clock, age=30)
    source = make_source(drop_folder, clock)
    first = fetch_all(source)

    clock.advance(60)
    drop(drop_folder, "b.jpg", image_bytes("JPEG"), clock, age=10)
    second = fetch_all(source)

    assert first[0].message_id == second[0].message_id
    assert second[0].message_id < second[1].message_id


def test_files_written_at_the_same_instant_page_through_without_repeats_or_gaps(
    drop_folder: Path, clock: Clock
) -> None:
    for index in range(7):
        drop(drop_folder, f"burst_{index}.jpg", image_bytes("JPEG", (index * 30, 0, 0)), clock, age=30)
    source = make_source(drop_folder, clock)

    first_page = list(source.fetch(None, 3))
    (drop_folder / first_page[0].media[0].locator).unlink()  # processed files may be cleaned away
    rest = page_through_from(source, first_page[-1].cursor, limit=2)

    locators = names(first_page) + names(rest)
    assert sorted(locators) == [f"burst_{index}.jpg" for index in range(7)]
    assert len(set(locators)) == 7
    ids = [post.message_id for post in first_page + rest]
    assert ids == sorted(ids)


def page_through_from(source: FolderSource, cursor: str, limit: int) -> list[FetchedPost]:
    posts: list[FetchedPost] = []
    while page := list(source.fetch(cursor, limit)):
        posts.extend(page)
        cursor = page[-1].cursor
    return posts


def test_files_that_arrive_together_and_hash_alike_are_both_yielded(drop_folder: Path, clock: Clock) -> None:
    first_name, second_name = names_with_the_same_slot()
    drop(drop_folder, first_name, image_bytes("JPEG"), clock, age=30)
    drop(drop_folder, second_name, image_bytes("PNG"), clock, age=30)

    posts = page_through(make_source(drop_folder, clock), limit=1)

    assert sorted(names(posts)) == sorted([first_name, second_name])
    assert posts[0].message_id != posts[1].message_id


def names_with_the_same_slot() -> tuple[str, str]:
    seen: dict[int, str] = {}
    for index in itertools.count():
        name = f"photo_{index}.jpg"
        slot = path_slot(name)
        if slot in seen:
            return seen[slot], name
        seen[slot] = name
    raise AssertionError("unreachable")


def test_limit_caps_the_posts_of_one_fetch(drop_folder: Path, clock: Clock) -> None:
    for index in range(3):
        drop(drop_folder, f"{index}.jpg", image_bytes("JPEG"), clock, age=30 - index)
    source = make_source(drop_folder, clock)

    assert names(list(source.fetch(None, 2))) == ["0.jpg", "1.jpg"]
    assert list(source.fetch(None, 0)) == []


def test_download_copies_the_file(drop_folder: Path, clock: Clock) -> None:
    drop(drop_folder, "clip.mp4", fixture("short_hamilton_clip.mp4").read_bytes(), clock, age=30)
    drop(drop_folder, "sub/face.jpg", fixture("obama_small.jpg").read_bytes(), clock, age=20)
    source = make_source(drop_folder, clock)

    copies = {}
    for post in fetch_all(source):
        dest = io.BytesIO()
        source.download(post.media[0], dest, 10_000_000)
        copies[post.media[0].locator] = dest.getvalue()

    assert copies == {
        "clip.mp4": fixture("short_hamilton_clip.mp4").read_bytes(),
        "sub/face.jpg": fixture("obama_small.jpg").read_bytes(),
    }


def test_download_over_the_cap_raises_media_too_large(drop_folder: Path, clock: Clock) -> None:
    drop(drop_folder, "clip.mp4", fixture("short_hamilton_clip.mp4").read_bytes(), clock)
    source = make_source(drop_folder, clock)
    [post] = fetch_all(source)
    dest = io.BytesIO()

    with pytest.raises(MediaTooLarge):
        source.download(post.media[0], dest, max_bytes=1024)

    assert dest.getvalue() == b""


def test_download_of_a_file_removed_since_the_fetch_needs_attention(drop_folder: Path, clock: Clock) -> None:
    path = drop(drop_folder, "gone.jpg", image_bytes("JPEG"), clock)
    source = make_source(drop_folder, clock)
    [post] = fetch_all(source)
    path.unlink()

    with pytest.raises(NeedsAttention, match=r"gone\.jpg"):
        source.download(post.media[0], io.BytesIO(), 10_000_000)


@pytest.mark.parametrize("locator", ["../secret.jpg", "sub/../../secret.jpg", "/etc/hostname"])
def test_download_refuses_a_locator_outside_the_folder(
    tmp_path: Path, drop_folder: Path, clock: Clock, locator: str
) -> None:
    drop(tmp_path, "secret.jpg", image_bytes("JPEG"), clock)
    drop(drop_folder, "a.jpg", image_bytes("JPEG"), clock)
    source = make_source(drop_folder, clock)
    media = fetch_all(source)[0].media[0]

    with pytest.raises(NeedsAttention, match="outside"):
        source.download(type(media)(media.kind, locator), io.BytesIO(), 10_000_000)


def test_a_missing_folder_needs_attention(tmp_path: Path, clock: Clock) -> None:
    with pytest.raises(NeedsAttention, match="does not exist"):
        make_source(tmp_path / "nowhere", clock).fetch(None, 10)


def test_a_file_given_as_the_folder_needs_attention(tmp_path: Path, clock: Clock) -> None:
    path = drop(tmp_path, "photo.jpg", image_bytes("JPEG"), clock)

    with pytest.raises(NeedsAttention, match="not a folder"):
        make_source(path, clock).fetch(None, 10)


def test_an_unreadable_cursor_needs_attention(drop_folder: Path, clock: Clock) -> None:
    with pytest.raises(NeedsAttention, match="cursor"):
        make_source(drop_folder, clock).fetch("yesterday", 10)


def test_a_fifo_is_skipped_with_a_reason_and_never_opened(
    drop_folder: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    drop(drop_folder, "photo.png", image_bytes("PNG"), clock)
    os.mkfifo(drop_folder / "pipe.jpg")
    posts: list[FetchedPost] = []
    thread = threading.Thread(target=lambda: posts.extend(fetch_all(make_source(drop_folder, clock))), daemon=True)

    with caplog.at_level("WARNING"):
        thread.start()
        thread.join(timeout=20)

    assert not thread.is_alive(), "the fetch hangs on the FIFO"
    assert names(posts) == ["photo.png"]
    assert "pipe.jpg" in caplog.text and "not a regular file" in caplog.text


def test_a_file_dated_in_the_future_is_not_left_waiting(drop_folder: Path) -> None:
    clock = Clock(time.time() + 10)
    photo = drop_folder / "from-the-future.png"
    photo.write_bytes(image_bytes("PNG"))
    future = clock.now + 30 * 24 * 3600
    os.utime(photo, (future, future))

    assert names(fetch_all(make_source(drop_folder, clock, settle_seconds=2))) == ["from-the-future.png"]
