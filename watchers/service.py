"""Watchers logic: watches, storing posts, fetching and analysing their media once per content.

Services never commit: `watchers.jobs` (a scheduled run) or a route owns the transaction.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from core.clock import utcnow
from core.errors import Conflict, InputRejected, NotFound
from watchers.models import Detection, MediaAnalysis, MediaItem, MediaStatus, Post, Watch, WatchState
from watchers.scanning import MediaAnalysis as Analysis
from watchers.schemas import ScanResult, WatchCreate, WatchUpdate
from watchers.sources.base import FetchedPost, MediaKind, MediaRef, MediaTooLarge, NeedsAttention, RetryLater, Source
from watchers.sources.registry import parse_source_config, target_of
from watchers.workers import FaceWorkers
from watchlist.models import Person
from watchlist.service import MatcherCache

log = logging.getLogger(__name__)
_HASH_CHUNK = 1024 * 1024

DetectionSink = Callable[[Session, MediaItem, Post, list[Detection]], None]
"""Called, in the same transaction, with the detections of one media item of one post (the alerts hook)."""


def person_names(session: Session, person_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not person_ids:
        return {}
    rows = session.exec(select(Person.id, Person.display_name).where(Person.id.in_(person_ids)))  # type: ignore[attr-defined]
    return dict(rows.all())


def scan_file(
    session: Session,
    path: Path,
    workers: FaceWorkers,
    matchers: MatcherCache,
    organization_id: uuid.UUID | None = None,
) -> ScanResult:
    """Analyse one photo or video against the watchlist of one organisation (everyone's when None); raises
    `InputRejected` with a reason."""
    analysis = workers.analyse(path, matchers.get(session, organization_id))
    names = person_names(session, {match.person_id for face in analysis.faces for match in face.matches})
    return ScanResult.from_analysis(analysis, names)


class DuplicateWatch(Conflict):
    pass


@dataclass(frozen=True)
class WatchIntervals:
    """How often watches run: `default_seconds` when a watch names no interval, never more often than every
    `min_seconds` (a source polled faster gets the installation rate-limited or banned)."""

    default_seconds: int
    min_seconds: int

    def check(self, interval_seconds: int | None) -> None:
        """Refuse (422 `interval_too_short`) an interval under the minimum; None means the default."""
        if interval_seconds is not None and interval_seconds < self.min_seconds:
            raise InputRejected("interval_too_short", f"interval_seconds must be at least {self.min_seconds}")


def create_watch(session: Session, data: WatchCreate, intervals: WatchIntervals) -> Watch:
    """A new watch; refused when its target is already watched or its interval is under the minimum."""
    intervals.check(data.interval_seconds)
    config = parse_source_config(data.source.model_dump())
    target = target_of(config)
    existing = session.exec(select(Watch).where(Watch.kind == config.kind, Watch.target == target)).first()
    if existing is not None:
        raise DuplicateWatch("duplicate_watch", f"{config.kind} {target} is already watched (watch {existing.id})")
    watch = Watch(
        kind=config.kind,
        target=target,
        config=config.model_dump(),
        interval_seconds=data.interval_seconds or intervals.default_seconds,
        enabled=data.enabled,
    )
    session.add(watch)
    session.flush()
    return watch


def get_watch(session: Session, watch_id: uuid.UUID) -> Watch:
    watch = session.get(Watch, watch_id)
    if watch is None:
        raise NotFound(f"watch {watch_id} not found")
    return watch


def list_watches(session: Session) -> list[Watch]:
    return list(session.exec(select(Watch).order_by(Watch.created_at, Watch.id)))  # type: ignore[arg-type]


def update_watch(session: Session, watch: Watch, data: WatchUpdate, intervals: WatchIntervals) -> Watch:
    """Change the interval (not under the minimum), pause or resume (which also clears an error state)."""
    intervals.check(data.interval_seconds)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if changes.get("enabled") and not watch.enabled:
        watch.state, watch.retry_at, watch.consecutive_failures = WatchState.OK, None, 0
    for field, value in changes.items():
        setattr(watch, field, value)
    watch.updated_at = utcnow()
    session.add(watch)
    session.flush()
    return watch


def request_run(session: Session, watch: Watch) -> Watch:
    """Ask the scheduler to run the watch now (seen at its next sync, within seconds, in any process)."""
    watch.run_requested = True
    if watch.state == WatchState.NEEDS_ATTENTION:
        watch.state = WatchState.OK
    watch.retry_at = None
    session.add(watch)
    session.flush()
    return watch


def delete_watch(session: Session, watch: Watch) -> None:
    session.delete(watch)
    session.flush()


def store_post(session: Session, watch: Watch, fetched: FetchedPost) -> Post | None:
    """Store a post and its media (pending) and advance the cursor past it, or None when it was already stored.

    The cursor moves in the same transaction as the post: a crash before the commit loses neither.
    """
    watch.cursor = fetched.cursor
    watch.posts_seen += 1
    session.add(watch)
    exists = session.exec(select(Post.id).where(Post.watch_id == watch.id, Post.message_id == fetched.message_id))
    if exists.first() is not None:
        return None
    post = Post(
        watch_id=watch.id,
        channel=fetched.channel,
        message_id=fetched.message_id,
        permalink=fetched.permalink,
        posted_at=fetched.date,
        text=fetched.text,
        forwarded_from=fetched.forwarded_from,
    )
    session.add(post)
    session.flush()
    for position, media in enumerate(fetched.media):
        session.add(
            MediaItem(
                post_id=post.id,
                position=position,
                kind=media.kind.value,
                locator=media.locator,
                file_name=media.file_name,
                size=media.size,
            )
        )
    session.flush()
    return post


def pending_media(session: Session, watch: Watch, max_attempts: int) -> list[tuple[MediaItem, Post]]:
    """Media of this watch's posts still to fetch or analyse: new ones and failed ones with attempts left."""
    rows = session.exec(
        select(MediaItem, Post)
        .join(Post, Post.id == MediaItem.post_id)
        .where(
            Post.watch_id == watch.id,
            MediaItem.status.in_([MediaStatus.PENDING, MediaStatus.FAILED]),  # type: ignore[attr-defined]
            MediaItem.attempts < max_attempts,
        )
        .order_by(Post.message_id, MediaItem.position)
    )
    return list(rows.all())


@dataclass(frozen=True)
class MediaStore:
    """Downloaded media, by content under `root/ab/abcdef...`. Unless `keep` is set, a file is deleted once it is
    analysed: only the findings (detections, face crops) stay, so the service holds as few images of people as it
    can, and the sha256 in the database still recognises a repost."""

    root: Path
    max_bytes: int
    keep: bool = False

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def fetch(self, source: Source, item: MediaItem) -> Download:
        """Download the item into a file of its own and return it with its sha256 and size."""
        self.root.mkdir(parents=True, exist_ok=True)
        ref = MediaRef(MediaKind(item.kind), item.locator, item.file_name, None, item.size)
        with tempfile.NamedTemporaryFile(dir=self.root, prefix="download-", delete=False) as target:
            temporary = Path(target.name)
            try:
                source.download(ref, target, self.max_bytes)
            except BaseException:
                target.close()
                temporary.unlink(missing_ok=True)
                raise
        sha256, size = _digest(temporary)
        return Download(sha256, size, temporary)

    def release(self, download: Download) -> None:
        """Done with a download: kept by content (`path_of`) when the installation keeps media, else deleted."""
        if not self.keep:
            download.path.unlink(missing_ok=True)
            return
        final = self.path_of(download.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(download.path, final)


@dataclass(frozen=True)
class Download:
    """One download's own file: it is analysed from there, so two runs that fetch the same content at once (a
    post and its repost) never read a file the other is deleting."""

    sha256: str
    size: int
    path: Path


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass
class MediaOutcome:
    analysed: bool = False
    cached: bool = False
    failed: str | None = None

    @property
    def label(self) -> str:
        return "failed" if self.failed else "cached" if self.cached else "analysed"


def process_media(
    session: Session,
    item: MediaItem,
    post: Post,
    source: Source,
    store: MediaStore,
    analyse: Callable[[Path], Analysis],
    on_detections: DetectionSink,
    max_attempts: int,
) -> MediaOutcome:
    """Fetch one media item, analyse its content unless already analysed, and hand the detections on.

    A passing download failure leaves the item `failed` with its reason, to be retried on the next run.
    """
    item.attempts += 1
    session.add(item)
    try:
        download = store.fetch(source, item)
    except MediaTooLarge as exc:
        return _give_up(session, item, MediaStatus.SKIPPED, str(exc))
    except NeedsAttention as exc:
        return _give_up(session, item, MediaStatus.SKIPPED, exc.reason)
    except Exception as exc:  # any other download failure is passing: retried on the next run
        status = MediaStatus.FAILED if item.attempts < max_attempts else MediaStatus.SKIPPED
        return _give_up(session, item, status, f"download failed: {exc}")
    item.sha256, item.size = download.sha256, download.size
    outcome = MediaOutcome()
    try:
        with session.no_autoflush:  # no write (so, on SQLite, no database lock) is held while faces are analysed
            analysis_row = session.get(MediaAnalysis, item.sha256)
            if analysis_row is None:
                analysis_row = _analyse_and_store(session, item.sha256, download.path, analyse)
                outcome.analysed = True
            else:
                outcome.cached = True
    finally:
        store.release(download)
    detections = list(session.exec(select(Detection).where(Detection.sha256 == item.sha256)))
    item.status, item.error = MediaStatus.DONE, analysis_row.error
    session.add(item)
    session.flush()
    if detections:
        on_detections(session, item, post, detections)
    return outcome


def _give_up(session: Session, item: MediaItem, status: str, reason: str) -> MediaOutcome:
    item.status, item.error = status, reason[:2000]
    session.add(item)
    session.flush()
    return MediaOutcome(failed=reason)


def _analyse_and_store(session: Session, sha256: str, path: Path, analyse: Callable[[Path], Analysis]) -> MediaAnalysis:
    try:
        analysis = analyse(path)
    except InputRejected as exc:
        row = MediaAnalysis(
            sha256=sha256,
            kind="unknown",
            size=path.stat().st_size,
            width=0,
            height=0,
            frames_scanned=0,
            error_code=exc.code,
            error=exc.message,
        )
        return _insert_once(session, row)
    row = MediaAnalysis(
        sha256=sha256,
        kind=analysis.kind,
        size=analysis.size,
        width=analysis.width,
        height=analysis.height,
        duration=analysis.duration,
        frames_scanned=analysis.frames_scanned,
        faces_found=len(analysis.faces),
    )
    detections = [
        Detection(
            sha256=sha256,
            person_id=evidence.person_id,
            reference_face_id=evidence.reference_id,
            distance=round(evidence.best_distance, 4),
            box=evidence.best_box.as_dict(),
            best_timestamp=evidence.best_timestamp,
            timestamps=[round(t, 3) for t in evidence.timestamps],
            frames_matched=evidence.frames_matched,
            crop_jpeg=evidence.crop_jpeg,
        )
        for evidence in analysis.persons
    ]
    return _insert_once(session, row, detections)


def _insert_once(session: Session, row: MediaAnalysis, detections: list[Detection] | None = None) -> MediaAnalysis:
    """Insert an analysis and its detections; when another run stored the same content first, keep theirs."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            session.add_all(detections or [])
            session.flush()
    except sa.exc.IntegrityError:
        log.info("media %s was analysed concurrently; using the stored analysis", row.sha256)
        existing = session.get(MediaAnalysis, row.sha256)
        assert existing is not None
        return existing
    return row


def record_run_success(watch: Watch, now: datetime, media_failures: int) -> None:
    watch.last_run_at = watch.last_success_at = now
    watch.state, watch.retry_at, watch.consecutive_failures = WatchState.OK, None, 0
    watch.last_error = f"{media_failures} media download(s) failed; retried on the next run" if media_failures else None


def record_run_failure(watch: Watch, now: datetime, error: Exception) -> None:
    watch.last_run_at = now
    watch.consecutive_failures += 1
    if isinstance(error, RetryLater):
        watch.state, watch.retry_at = WatchState.RETRYING, now + timedelta(seconds=error.seconds)
        watch.last_error = error.reason
    elif isinstance(error, NeedsAttention):
        watch.state, watch.retry_at, watch.last_error = WatchState.NEEDS_ATTENTION, None, error.reason
    else:
        watch.last_error = f"{error.__class__.__name__}: {error}"[:2000]
