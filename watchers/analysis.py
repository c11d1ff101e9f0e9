"""The face analysis of media, handed over by id: stored media by its sha256 (watches), and a file scanned on request.

`analyse_media(sha256, ...)` is the unit of work a watch hands over: it reads the content from the media store and
stores what it found in transactions of its own. The pipeline calls it through an `AnalysisExecutor`, so where it
runs is the executor's business: `LocalExecutor` runs it in the calling thread with the face work in this process's
face worker pool (`watchers.workers.FaceWorkers`); a task queue across machines can take its place, sending only
the sha256, without a change to the pipeline.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.errors import InputRejected
from watchers.media_store import MediaStore
from watchers.models import Detection, MediaAnalysis
from watchers.perceptual import (
    IN_FLIGHT,
    VIDEO_SHIFT,
    MediaHash,
    Neighbour,
    PhotoHashIndex,
    media_hash,
    nearest,
    video_samples,
)
from watchers.scanning import FileAnalysis
from watchers.schemas import ScanResult
from watchlist.matcher import Matcher
from watchlist.service import MatcherCache, add_background_counts, encoding_to_bytes, person_names

log = logging.getLogger(__name__)


class FaceAnalyser(Protocol):
    """Finds faces and matches in one file; raises `InputRejected` with a reason (`FaceWorkers` does this)."""

    def analyse(self, path: Path, matcher: Matcher) -> FileAnalysis: ...


class AnalysisExecutor(Protocol):
    """Runs `analyse_media` for a content hash somewhere, and returns once its result is stored."""

    def analyse(self, sha256: str) -> bool:
        """True when the content was analysed now, False when its analysis was already stored."""
        ...


@dataclass(frozen=True)
class LocalExecutor:
    """`analyse_media` in the calling thread, its face work in this process's face worker pool."""

    db_engine: Engine
    media_store: MediaStore
    faces: FaceAnalyser
    matchers: MatcherCache

    def analyse(self, sha256: str) -> bool:
        return analyse_media(
            sha256, db_engine=self.db_engine, media_store=self.media_store, faces=self.faces, matchers=self.matchers
        )


def analyse_media(
    sha256: str, *, db_engine: Engine, media_store: MediaStore, faces: FaceAnalyser, matchers: MatcherCache
) -> bool:
    """Analyse the stored content `sha256` against everyone's watchlist and store the result, unless it is stored
    already; True when it was analysed by this call, False when its analysis was already stored.

    A job-level unit: it opens its own sessions and commits its own transaction (the `MediaAnalysis` row and its
    `Detection` rows together), so it needs only the id and can run anywhere the database and the media store are
    reachable. No database write is held while faces are analysed: the result is written after, in a short
    transaction. When another call stored the same content meanwhile, theirs is kept (the unique keys decide), so
    calling it twice stores nothing twice. A file the analysis refuses is stored with its `error_code`. Raises
    `MediaMissing` when the store holds no copy of the content.

    A photo or a video (or an animation) is hashed first (`watchers.perceptual`): a near-identical re-encode of an
    analysed one shares that analysis (stored with `reused_from`, no face work, answered False like a cached one);
    an edited copy is analysed and joins the nearest one's cluster; anything else founds a cluster of its own (its
    sha256). Near copies analysed in this process wait for each other (`watchers.perceptual.IN_FLIGHT`), so two
    copies fetched at once by two watches do not both found a cluster; across processes (analysis workers on other
    machines), a content that would found a cluster looks for a near one again as it is stored, one at a time
    (`_store_once`), and joins the cluster a near copy founded meanwhile.
    """
    with Session(db_engine) as session:
        if session.get(MediaAnalysis, sha256) is not None:
            return False
        matcher = matchers.get(session)
    with media_store.open(sha256) as path, IN_FLIGHT.claim(media_hash(path)) as media:
        size = path.stat().st_size
        looked_at = utcnow()
        neighbour = _nearest_analysed(db_engine, media) if media is not None else None
        if media and neighbour and neighbour.reusable and _store_reuse(db_engine, sha256, size, media, neighbour):
            return False
        try:
            analysis = faces.analyse(path, matcher)
        except InputRejected as refused:
            _store_once(db_engine, _refusal_row(sha256, size, refused), [])
            return True
        row = _analysis_row(sha256, analysis)
        if media is not None:
            _set_hash(row, media)
            row.cluster = neighbour.cluster if neighbour is not None else sha256
        founds = Founding(media, looked_at) if media is not None and neighbour is None else None
        stored = _store_once(db_engine, row, detections_of(sha256, analysis), founds=founds)
    if stored:
        _count_background(db_engine, analysis, matchers)
    return True


def _nearest_analysed(db_engine: Engine, media: MediaHash) -> Neighbour | None:
    """The analysed photo or video nearest to this hash, within the cluster threshold (`watchers.perceptual`).

    Photos: this process's index of every analysed photo's hash (`PhotoLookup`), brought up to date first by
    reading only what was stored since its last look; one XOR and popcount over all of them in numpy. Videos: only
    those whose length is within `VIDEO_SHIFT` samples of this one's are read (an index on `vhash_samples`), each
    compared frame by frame in numpy; the cost grows with the videos of about the same length, not with all."""
    with Session(db_engine) as session:
        if media.kind == "photo":
            return photo_lookup(db_engine).nearest(session, media.value)
        return _nearest_in(session, media)


@dataclass
class PhotoLookup:
    """The analysed photos' hashes of one database, held in this process and brought up to date on each look."""

    index: PhotoHashIndex = field(default_factory=PhotoHashIndex)
    seen_until: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def nearest(self, session: Session, phash: str) -> Neighbour | None:
        with self._lock:
            since = self.seen_until - CLOCK_SKEW if self.seen_until is not None else None
            rows = session.exec(_analysed(MediaAnalysis.phash, since).add_columns(MediaAnalysis.analysed_at)).all()
            self.index.add((sha256, other, cluster) for sha256, other, cluster, _ in rows if other and cluster)
            if rows:
                latest = max(stored for *_, stored in rows)
                self.seen_until = max(latest, self.seen_until) if self.seen_until is not None else latest
        return self.index.nearest(phash)


_PHOTO_LOOKUPS: dict[str, PhotoLookup] = {}
_PHOTO_LOOKUPS_LOCK = threading.Lock()


def photo_lookup(db_engine: Engine) -> PhotoLookup:
    """This process's photo hash index of the database `db_engine` reaches (one per database URL)."""
    key = db_engine.url.render_as_string(hide_password=True)
    with _PHOTO_LOOKUPS_LOCK:
        return _PHOTO_LOOKUPS.setdefault(key, PhotoLookup())


def _analysed(hashed: Any, stored_since: datetime | None) -> Any:
    """The analysed contents with a hash of this kind and a cluster, stored since `stored_since` if given."""
    query = select(MediaAnalysis.sha256, hashed, MediaAnalysis.cluster).where(
        col(hashed).is_not(None),
        col(MediaAnalysis.cluster).is_not(None),
        col(MediaAnalysis.error_code).is_(None),
    )
    return query.where(col(MediaAnalysis.analysed_at) >= stored_since) if stored_since is not None else query


def _nearest_in(session: Session, media: MediaHash, stored_since: datetime | None = None) -> Neighbour | None:
    """The nearest to this hash among the analyses read from the database (all, or those stored since
    `stored_since`): the store-time check of a new cluster, and every video lookup."""
    hashed = MediaAnalysis.phash if media.kind == "photo" else MediaAnalysis.vhash
    query = _analysed(hashed, stored_since)
    if media.kind == "video":
        samples = video_samples(media.value)
        query = query.where(col(MediaAnalysis.vhash_samples).between(samples - VIDEO_SHIFT, samples + VIDEO_SHIFT))
    rows = session.exec(query).all()
    return nearest(media, ((sha, other, cluster) for sha, other, cluster in rows if other and cluster))


def _set_hash(row: MediaAnalysis, media: MediaHash) -> None:
    if media.kind == "photo":
        row.phash = media.value
    else:
        row.vhash, row.vhash_samples = media.value, video_samples(media.value)


def _store_reuse(db_engine: Engine, sha256: str, size: int, media: MediaHash, neighbour: Neighbour) -> bool:
    """Store a near-identical re-encode as sharing its neighbour's analysis (no face work); False when the
    neighbour's analysis is gone meanwhile (erased), so the caller analyses the content itself."""
    with Session(db_engine) as session:
        source = session.get(MediaAnalysis, neighbour.sha256)
        if source is None:
            return False
        row = MediaAnalysis(
            sha256=sha256,
            kind=source.kind,
            size=size,
            width=source.width,
            height=source.height,
            duration=source.duration,
            frames_scanned=0,
            faces_found=source.faces_found,
            cluster=neighbour.cluster,
            reused_from=source.detections_key,
        )
    _set_hash(row, media)
    _store_once(db_engine, row, [])
    return True


def _count_background(db_engine: Engine, analysis: FileAnalysis, matchers: MatcherCache) -> None:
    """The counts of the faces not assigned to each person go into their calibration, in a transaction of its own:
    distances only, never an encoding."""
    if not analysis.background:
        return
    for attempt in range(2):
        with Session(db_engine) as session:
            try:
                add_background_counts(session, analysis.background, matchers.policy.calibration)
                session.commit()
                return
            except sa.exc.IntegrityError:  # another analysis added the same person's first counts meanwhile
                session.rollback()
                if attempt:
                    log.warning("background counts of media %s were not stored", analysis.sha256)


def _refusal_row(sha256: str, size: int, refused: InputRejected) -> MediaAnalysis:
    return MediaAnalysis(
        sha256=sha256,
        kind="unknown",
        size=size,
        width=0,
        height=0,
        frames_scanned=0,
        error_code=refused.code,
        error=refused.message,
    )


def _analysis_row(sha256: str, analysis: FileAnalysis) -> MediaAnalysis:
    return MediaAnalysis(
        sha256=sha256,
        kind=analysis.kind,
        size=analysis.size,
        width=analysis.width,
        height=analysis.height,
        duration=analysis.duration,
        frames_scanned=analysis.frames_scanned,
        faces_found=len(analysis.faces),
    )


def detections_of(sha256: str, analysis: FileAnalysis) -> list[Detection]:
    """The detection rows of an analysis: one per person found, not yet added to any session."""
    return [
        Detection(
            sha256=sha256,
            person_id=evidence.person_id,
            reference_face_id=evidence.reference_id,
            distance=round(evidence.best_distance, 4),
            tier=evidence.tier,
            encoding=encoding_to_bytes(evidence.encoding) if evidence.encoding is not None else None,
            box=evidence.best_box.as_dict(),
            best_timestamp=evidence.best_timestamp,
            timestamps=[round(t, 3) for t in evidence.timestamps],
            track_timestamps=[round(t, 3) for t in evidence.track_timestamps],
            frames_matched=evidence.frames_matched,
            crop_jpeg=evidence.crop_jpeg,
        )
        for evidence in analysis.persons
    ]


@dataclass(frozen=True)
class Founding:
    """A content that found no near one when it looked, at `looked_at`."""

    media: MediaHash
    looked_at: datetime

    @property
    def stored_since(self) -> datetime:
        """Analyses stored from then on, less `CLOCK_SKEW` (other machines stamp their rows by their own clock)."""
        return self.looked_at - CLOCK_SKEW


CLOCK_SKEW = timedelta(minutes=5)


def _store_once(
    db_engine: Engine, row: MediaAnalysis, detections: list[Detection], founds: Founding | None = None
) -> bool:
    """Insert an analysis and its detections in one transaction; when another call stored the same content first,
    keep theirs (and answer False).

    `founds`: a content that found no near one when its analysis began. Another process may have stored a near copy
    meanwhile, so the analyses stored since then are looked at again (an index on `analysed_at`: a few rows, not
    the whole table), holding the cluster lock (PostgreSQL's transaction advisory lock; SQLite writes one
    transaction at a time), and the row joins that copy's cluster if there is one."""
    with Session(db_engine) as session:
        try:
            if founds is not None:
                _lock_cluster_founding(session)
                neighbour = _nearest_in(session, founds.media, founds.stored_since)
                if neighbour is not None:
                    row.cluster = neighbour.cluster
            session.add(row)
            session.flush()
            session.add_all(detections)
            session.commit()
            return True
        except sa.exc.IntegrityError:
            session.rollback()
            log.info("media %s was analysed concurrently; using the stored analysis", row.sha256)
            return False


CLUSTER_LOCK = 0x1A7C1
"""The advisory lock key that serialises the founding of clusters across processes."""


def _lock_cluster_founding(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLUSTER_LOCK})


def scan_file(
    session: Session,
    path: Path,
    faces: FaceAnalyser,
    matchers: MatcherCache,
    organization_id: uuid.UUID | None = None,
) -> ScanResult:
    """Analyse one photo or video against the watchlist of one organisation (everyone's when None); nothing is
    stored. Raises `InputRejected` with a reason."""
    analysis = faces.analyse(path, matchers.get(session, organization_id))
    names = person_names(session, {match.person_id for face in analysis.faces for match in face.matches})
    return ScanResult.from_analysis(analysis, names)


def count_background(session: Session, path: Path, faces: FaceAnalyser, matchers: MatcherCache) -> int:
    """Count the faces of one file into every enrolled person's calibration (distances only; a face within a
    person's thresholds is not counted for them); returns how many faces the file had. Raises `InputRejected`."""
    analysis = faces.analyse(path, matchers.get(session))
    add_background_counts(session, analysis.background, matchers.policy.calibration)
    return len(analysis.faces)
