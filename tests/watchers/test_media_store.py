"""The media store: each download is a file of its own, and an analysis reads the content by its sha256 from a
link of its own, so no run's release takes the bytes from another."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

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
