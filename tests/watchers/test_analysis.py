"""The analysis handed over by id: given the sha256 of stored content and the database engine, it reads the content
from the media store and commits its rows in a transaction of its own, once per content."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.runtime import Runtime
from tests.factories import enrol_person
from tests.media_copies import write_copy
from tests.support import FIXTURES, fixture_bytes
from tests.watchers.test_media_store import OneFileSource
from watchers.analysis import FaceAnalyser, analyse_media
from watchers.media_store import Download, MediaMissing
from watchers.models import Detection, MediaAnalysis, MediaItem
from watchers.perceptual import photo_hash
from watchers.scanning import FileAnalysis
from watchlist.matcher import Matcher


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()


@pytest.fixture
def stored(runtime: Runtime) -> Iterator[Download]:
    """obama2.jpg held in the runtime's media store, as a run holds its download."""
    item = MediaItem(post_id=None, kind="photo", locator="x")  # type: ignore[arg-type]
    download = runtime.media_store.fetch(OneFileSource(fixture_bytes("obama2.jpg")), item)  # type: ignore[arg-type]
    yield download
    runtime.media_store.release(download)


class CountingFaces:
    """The runtime's face workers, counting the files analysed; `during` runs inside each analysis."""

    def __init__(self, faces: FaceAnalyser, during: Callable[[], object] = lambda: None) -> None:
        self.faces = faces
        self.during = during
        self.calls = 0

    def analyse(self, path: Path, matcher: Matcher) -> FileAnalysis:
        self.calls += 1
        self.during()
        return self.faces.analyse(path, matcher)


def analyse(runtime: Runtime, sha256: str, faces: FaceAnalyser) -> bool:
    return analyse_media(
        sha256, db_engine=runtime.db_engine, media_store=runtime.media_store, faces=faces, matchers=runtime.matchers
    )


def stored_rows(runtime: Runtime, sha256: str) -> tuple[list[MediaAnalysis], list[Detection]]:
    """What is committed, read in a session of its own."""
    with Session(runtime.db_engine) as session:
        analyses = list(session.exec(select(MediaAnalysis).where(MediaAnalysis.sha256 == sha256)))
        detections = list(session.exec(select(Detection).where(Detection.sha256 == sha256)))
        return analyses, detections


def test_the_analysis_of_stored_content_commits_its_rows_once(runtime: Runtime, stored: Download) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    faces = CountingFaces(runtime.workers)

    assert analyse(runtime, stored.sha256, faces) is True
    [analysis], [detection] = stored_rows(runtime, stored.sha256)
    assert analysis.kind == "photo" and analysis.faces_found == 1 and analysis.error_code is None
    assert detection.person_id == obama.id and detection.distance <= 0.5 and detection.crop_jpeg

    assert analyse(runtime, stored.sha256, faces) is False, "the second call finds the stored analysis"
    again, [same_detection] = stored_rows(runtime, stored.sha256)
    assert faces.calls == 1 and [row.analysed_at for row in again] == [analysis.analysed_at]
    assert same_detection.id == detection.id


def test_an_analysis_stored_meanwhile_by_another_call_is_kept(runtime: Runtime, stored: Download) -> None:
    """Two calls for one content at once (a post and its repost): the first to commit wins, the other stores
    nothing; the other call commits while this one analyses, so no write is held meanwhile."""
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    other = CountingFaces(runtime.workers)
    racing = CountingFaces(runtime.workers, during=lambda: analyse(runtime, stored.sha256, other))

    assert analyse(runtime, stored.sha256, racing) is True
    assert (racing.calls, other.calls) == (1, 1)
    analyses, detections = stored_rows(runtime, stored.sha256)
    assert (len(analyses), len(detections)) == (1, 1)


def test_a_refused_file_is_stored_with_its_reason(runtime: Runtime) -> None:
    item = MediaItem(post_id=None, kind="photo", locator="x")  # type: ignore[arg-type]
    download = runtime.media_store.fetch(OneFileSource(b"not a photo, not a video" * 10), item)  # type: ignore[arg-type]
    try:
        assert analyse(runtime, download.sha256, runtime.workers) is True
    finally:
        runtime.media_store.release(download)
    [analysis], detections = stored_rows(runtime, download.sha256)
    assert (analysis.error_code, analysis.size, detections) == ("unsupported_media", 240, [])


def test_content_the_store_does_not_hold_is_not_analysed(runtime: Runtime) -> None:
    missing = "0" * 64
    with pytest.raises(MediaMissing):
        analyse(runtime, missing, runtime.workers)
    with Session(runtime.db_engine) as session:
        assert session.exec(select(sa.func.count()).select_from(MediaAnalysis)).one() == 0


def test_an_edited_copy_joins_the_cluster_another_process_founded_while_it_was_analysed(
    runtime: Runtime, stored: Download, tmp_path: Path
) -> None:
    """Analysis workers on two machines take the original and its cropped copy at once: neither sees the other
    when it begins, but the copy looks again as it is stored, and joins the original's cluster (one alert)."""
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    original = runtime.media_store.open(stored.sha256)
    with original as path:
        original_hash = photo_hash(path)
    crop = write_copy(FIXTURES / "obama2.jpg", "cropped_5", tmp_path / "cropped.jpg")
    item = MediaItem(post_id=None, kind="photo", locator="y")  # type: ignore[arg-type]
    copy = runtime.media_store.fetch(OneFileSource(crop.read_bytes()), item)  # type: ignore[arg-type]

    def another_process_stores_the_original() -> None:
        with Session(runtime.db_engine) as session:
            row = MediaAnalysis(
                sha256=stored.sha256, kind="photo", size=1, width=1, height=1, frames_scanned=1, faces_found=1
            )
            row.phash, row.cluster = original_hash, stored.sha256
            session.add(row)
            session.commit()

    try:
        assert analyse(runtime, copy.sha256, CountingFaces(runtime.workers, another_process_stores_the_original))
    finally:
        runtime.media_store.release(copy)
    [analysis], _ = stored_rows(runtime, copy.sha256)
    assert analysis.cluster == stored.sha256 and analysis.reused_from is None, "analysed, in the original's cluster"
