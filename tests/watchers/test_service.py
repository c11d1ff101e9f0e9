"""The watchers service: each download of the media step is a file of its own, no database write is held while
faces are analysed (on SQLite, other watches can commit meanwhile), and watches keep to the minimum interval."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
from sqlmodel import Session

from app.runtime import Runtime
from core.clock import utcnow
from core.errors import InputRejected
from tests.support import fixture_bytes
from watchers import service
from watchers.models import MediaItem, Post, Watch
from watchers.schemas import WatchCreate, WatchUpdate
from watchers.service import MediaStore, WatchIntervals
from watchers.sources.base import MediaRef


class OneFileSource:
    """A source whose every media item is the same bytes (a post and its reposts)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def download(self, ref: MediaRef, target: BinaryIO, max_bytes: int) -> None:
        target.write(self.data)


def media_item(session: Session, tag: str) -> tuple[MediaItem, Post]:
    watch = Watch(kind="folder", target=f"/tmp/{tag}", config={})
    post = Post(watch_id=watch.id, channel=tag, message_id=1, permalink=f"file:///{tag}", posted_at=utcnow())
    item = MediaItem(post_id=post.id, kind="photo", locator=f"{tag}.jpg")
    for row in (watch, post, item):
        session.add(row)
        session.flush()
    session.commit()
    return item, post


@pytest.mark.parametrize("keep", [False, True])
def test_two_downloads_of_one_content_have_their_own_files(tmp_path: Path, keep: bool) -> None:
    store = MediaStore(tmp_path / "media", max_bytes=10_000_000, keep=keep)
    source = OneFileSource(fixture_bytes("obama.jpg"))
    item = MediaItem(post_id=None, kind="photo", locator="x")  # type: ignore[arg-type]

    first, second = store.fetch(source, item), store.fetch(source, item)  # type: ignore[arg-type]
    assert first.sha256 == second.sha256 and first.path != second.path
    store.release(first)

    assert second.path.read_bytes() == fixture_bytes("obama.jpg"), "a release never removes another's file"
    store.release(second)
    assert store.path_of(first.sha256).exists() is keep
    assert [path.name for path in (tmp_path / "media").glob("download-*")] == []


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()


def test_no_database_write_is_held_while_faces_are_analysed(runtime: Runtime) -> None:
    if runtime.db_engine.dialect.name != "sqlite":
        pytest.skip("the lock that matters is SQLite's single writer")
    database = runtime.db_engine.url.database
    assert database is not None
    writes_during_analysis: list[bool] = []

    def analyse_while_another_writer_commits(path: Path):
        other = sqlite3.connect(database, timeout=0.2)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.rollback()
            writes_during_analysis.append(True)
        except sqlite3.OperationalError:
            writes_during_analysis.append(False)
        finally:
            other.close()
        with Session(runtime.db_engine) as reader:
            matcher = runtime.matchers.get(reader)
        return runtime.workers.analyse(path, matcher)

    with Session(runtime.db_engine, expire_on_commit=False) as session:
        item, post = media_item(session, "lock")
        outcome = service.process_media(
            session,
            item,
            post,
            OneFileSource(fixture_bytes("obama.jpg")),  # type: ignore[arg-type]
            runtime.media_store,
            analyse_while_another_writer_commits,
            lambda *_: None,
            max_attempts=3,
        )
        session.commit()

    assert outcome.analysed and writes_during_analysis == [True]
    assert item.attempts == 1 and item.status == "done"


INTERVALS = WatchIntervals(default_seconds=300, min_seconds=30)


def test_a_watch_is_never_made_or_changed_to_run_more_often_than_the_minimum(runtime: Runtime, tmp_path: Path) -> None:
    def data(**fields: object) -> WatchCreate:
        return WatchCreate.model_validate({"source": {"kind": "folder", "path": str(tmp_path)}, **fields})

    with Session(runtime.db_engine) as session:
        with pytest.raises(InputRejected) as too_fast:
            service.create_watch(session, data(interval_seconds=29), INTERVALS)
        assert too_fast.value.code == "interval_too_short" and "at least 30" in too_fast.value.message
        assert service.list_watches(session) == []

        watch = service.create_watch(session, data(), INTERVALS)
        assert watch.interval_seconds == 300, "no interval: the default"
        with pytest.raises(InputRejected) as changed_too_fast:
            service.update_watch(session, watch, WatchUpdate(interval_seconds=1), INTERVALS)
        assert changed_too_fast.value.code == "interval_too_short"
        assert watch.interval_seconds == 300
        assert service.update_watch(session, watch, WatchUpdate(interval_seconds=30), INTERVALS).interval_seconds == 30
