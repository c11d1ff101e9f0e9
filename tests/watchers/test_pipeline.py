"""The media step of the pipeline: the content is handed to the analysis by its sha256, and no database write is
held while faces are analysed (on SQLite, other watches can commit meanwhile)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session

from app.runtime import Runtime
from core.clock import utcnow
from tests.support import fixture_bytes
from tests.watchers.test_media_store import OneFileSource
from watchers import pipeline
from watchers.analysis import LocalExecutor
from watchers.models import MediaItem, Post, Watch
from watchers.scanning import FileAnalysis
from watchlist.matcher import Matcher


def media_item(session: Session, tag: str) -> tuple[MediaItem, Post]:
    watch = Watch(kind="folder", target=f"/tmp/{tag}", config={})
    post = Post(watch_id=watch.id, channel=tag, message_id=1, permalink=f"file:///{tag}", posted_at=utcnow())
    item = MediaItem(post_id=post.id, kind="photo", locator=f"{tag}.jpg")
    for row in (watch, post, item):
        session.add(row)
        session.flush()
    session.commit()
    return item, post


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()


def test_no_database_write_is_held_while_faces_are_analysed(runtime: Runtime) -> None:
    if runtime.db_engine.dialect.name != "sqlite":
        pytest.skip("the lock that matters is SQLite's single writer")
    database = runtime.db_engine.url.database
    assert database is not None
    writes_during_analysis: list[bool] = []

    class AnalyseWhileAnotherWriterCommits:
        def analyse(self, path: Path, matcher: Matcher) -> FileAnalysis:
            other = sqlite3.connect(database, timeout=0.2)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.rollback()
                writes_during_analysis.append(True)
            except sqlite3.OperationalError:
                writes_during_analysis.append(False)
            finally:
                other.close()
            return runtime.workers.analyse(path, matcher)

    analysis = LocalExecutor(
        runtime.db_engine, runtime.media_store, AnalyseWhileAnotherWriterCommits(), runtime.matchers
    )
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        item, post = media_item(session, "lock")
        outcome = pipeline.process_media(
            session,
            item,
            post,
            OneFileSource(fixture_bytes("obama.jpg")),  # type: ignore[arg-type]
            runtime.media_store,
            analysis,
            lambda *_: None,
            max_attempts=3,
        )
        session.commit()

    assert outcome.analysed and writes_during_analysis == [True]
    assert item.attempts == 1 and item.status == "done"
