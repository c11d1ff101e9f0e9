"""The media store: each download is a file of its own, and an analysis reads the content by its sha256 from a
link of its own, so no run's release takes the bytes from another."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from app.runtime import Runtime
from tests.support import fixture_bytes
from watchers.media_store import MediaMissing, MediaStore
from watchers.models import MediaItem
from watchers.sources.base import MediaRef


class OneFileSource:
    """A source whose every media item is the same bytes (a post and its reposts)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def download(self, ref: MediaRef, target: BinaryIO, max_bytes: int) -> None:
        target.write(self.data)


def any_item() -> MediaItem:
    return MediaItem(post_id=None, kind="photo", locator="x")  # type: ignore[arg-type]


@pytest.mark.parametrize("keep", [False, True])
def test_two_downloads_of_one_content_have_their_own_files(tmp_path: Path, keep: bool) -> None:
    store = MediaStore(tmp_path / "media", max_bytes=10_000_000, keep=keep)
    source = OneFileSource(fixture_bytes("obama.jpg"))
    item = any_item()

    first, second = store.fetch(source, item), store.fetch(source, item)  # type: ignore[arg-type]
    assert first.sha256 == second.sha256 and first.path != second.path
    store.release(first)

    assert second.path.read_bytes() == fixture_bytes("obama.jpg"), "a release never removes another's file"
    store.release(second)
    assert store.path_of(first.sha256).exists() is keep
    assert [path.name for path in (tmp_path / "media").glob("download-*")] == []


def test_content_read_by_sha256_stays_readable_while_every_download_is_released(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media", max_bytes=10_000_000)
    source = OneFileSource(fixture_bytes("obama.jpg"))
    first, second = store.fetch(source, any_item()), store.fetch(source, any_item())  # type: ignore[arg-type]

    with store.open(first.sha256) as reading:
        store.release(first)
        store.release(second)
        assert reading.read_bytes() == fixture_bytes("obama.jpg")

    assert [path for path in store.root.rglob("*") if path.is_file()] == [], "nothing is left behind"
    with pytest.raises(MediaMissing), store.open(first.sha256):
        pass


def test_kept_content_is_read_by_sha256(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media", max_bytes=10_000_000, keep=True)
    download = store.fetch(OneFileSource(fixture_bytes("obama.jpg")), any_item())  # type: ignore[arg-type]
    store.release(download)

    with store.open(download.sha256) as reading:
        assert reading != store.path_of(download.sha256)
        assert reading.read_bytes() == fixture_bytes("obama.jpg")
    assert [path for path in store.root.rglob("*") if path.is_file()] == [store.path_of(download.sha256)]


def test_crash_leftovers_go_at_start_and_kept_media_stays(make_runtime: Callable[..., Runtime], tmp_path: Path) -> None:
    media = tmp_path / "data" / "media"
    sha256 = "ab" + "0" * 62
    (media / "ab").mkdir(parents=True)
    kept = media / "ab" / sha256
    kept.write_bytes(b"kept")
    leftovers = [
        media / "download-x1y2",
        media / "ab" / f"{sha256}.download-x1y2",
        media / "ab" / f"{sha256}.read-0123abcd",
        tmp_path / "data" / "tmp" / "scan-q9w8",
    ]
    leftovers[-1].parent.mkdir(parents=True)
    for leftover in leftovers:
        leftover.write_bytes(b"left behind")

    make_runtime()

    assert [path for path in leftovers if path.exists()] == []
    assert kept.read_bytes() == b"kept"


def test_a_second_process_never_removes_a_live_processs_files(
    make_runtime: Callable[..., Runtime], tmp_path: Path
) -> None:
    make_runtime()
    in_flight = tmp_path / "data" / "tmp" / "scan-live"
    in_flight.parent.mkdir(parents=True, exist_ok=True)
    in_flight.write_bytes(b"being scanned")

    make_runtime()

    assert in_flight.exists()


def test_erasure_removes_leftover_copies_too(tmp_path: Path) -> None:
    store = MediaStore(tmp_path, 1000, keep=True)
    sha256 = "cd" + "1" * 62
    kept = store.path_of(sha256)
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"kept")
    leftover = kept.with_name(f"{sha256}.download-zz")
    leftover.write_bytes(b"left")

    assert store.remove_all_copies(sha256) == 2
    assert not kept.exists() and not leftover.exists()
