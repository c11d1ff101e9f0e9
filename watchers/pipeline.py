"""The media pipeline of a watch run: storing posts with their media, then fetching each media item, having its
content analysed once (by sha256, through an `AnalysisExecutor`; a near-identical re-encode of an analysed photo or
video shares that analysis, `watchers.perceptual`) and handing its detections to the alerts hook.

Services never commit: the watch run (`watchers.jobs.WatchRunner`) owns the transaction of each post and of each
media item. The analysis itself is handed over by id and stores its result in its own transaction
(`watchers.analysis.analyse_media`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col, select

from watchers.analysis import AnalysisExecutor
from watchers.channels import service as channels
from watchers.media_store import MediaStore
from watchers.models import Detection, MediaAnalysis, MediaItem, MediaStatus, Post, Watch
from watchers.sources.base import FetchedPost, MediaAwaitingFile, MediaRef, MediaTooLarge, NeedsAttention, Source

DetectionSink = Callable[[Session, MediaItem, Post, list[Detection]], Sequence[str]]
"""Called, in the same transaction (inside a savepoint of the item's own), with the detections of one media item of
one post (the alerts hook); returns why the alerts of some people could not be recorded, if any could not (the others
are recorded: the hook isolates each person)."""
PostSink = Callable[[Session, Post], object]
"""Called with a new post once it is stored (the text signals hook); the caller commits."""
log = logging.getLogger(__name__)


def store_post(session: Session, watch: Watch, fetched: FetchedPost, *, advance_cursor: bool = True) -> Post | None:
    """Store a post and its media (pending) and advance the cursor past it, or None when it was already stored.

    The cursor moves in the same transaction as the post: a crash before the commit loses neither. A post read
    from the watch's history (`watchers.history`) leaves the live cursor where it is, and counts as seen only when
    it is new (history pages overlap the live ones).
    """
    if advance_cursor:
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
        urls=list(fetched.urls),
        phone_entities=list(fetched.phone_entities),
        preview=fetched.preview,
        forwarded_from=fetched.forwarded_from,
    )
    if not advance_cursor:
        watch.posts_seen += 1
    session.add(post)
    session.flush()
    for position, media in enumerate(fetched.media):
        session.add(media_item_of(post, position, media))
    session.flush()
    channels.record_pointers(session, post, fetched.forwarded_from_username)
    return post


def media_item_of(post: Post, position: int, media: MediaRef) -> MediaItem:
    """The row of one media item of a post: pending, or skipped at once with the reason when nothing of it can be
    fetched (a block the preview hides, with no poster) or it is not analysed (an animated sticker)."""
    nothing_to_fetch = not media.locator
    reason = media.skipped or media.not_fetched or "no media to fetch"
    return MediaItem(
        post_id=post.id,
        position=position,
        kind=media.kind.value,
        locator=media.locator,
        file_name=media.file_name,
        size=media.size,
        poster_only=media.poster_only,
        not_fetched=media.not_fetched[:2000] if media.not_fetched else None,
        status=MediaStatus.SKIPPED if nothing_to_fetch or media.skipped else MediaStatus.PENDING,
        error=reason[:2000] if nothing_to_fetch or media.skipped else None,
    )


def pending_media(session: Session, watch: Watch, max_attempts: int) -> list[tuple[MediaItem, Post]]:
    """Media of this watch's posts still to fetch or analyse: new ones, failed ones with attempts left, and those
    whose file is not there yet (looked for on every run)."""
    rows = session.exec(
        select(MediaItem, Post)
        .join(Post, col(Post.id) == MediaItem.post_id)
        .where(
            Post.watch_id == watch.id,
            sa.or_(
                col(MediaItem.status) == MediaStatus.AWAITING_FILE,
                sa.and_(
                    col(MediaItem.status).in_([MediaStatus.PENDING, MediaStatus.FAILED]),
                    col(MediaItem.attempts) < max_attempts,
                ),
            ),
        )
        .order_by(col(Post.message_id), col(MediaItem.position))
    )
    return list(rows.all())


@dataclass
class MediaOutcome:
    analysed: bool = False
    cached: bool = False
    failed: str | None = None
    """Why the item is not analysed yet, when it is left `failed` and retried on the next run."""
    skipped: str | None = None
    """Why the item is skipped for good (too large, outside the folder, not a regular file, out of attempts)."""
    awaiting: str | None = None
    """Why the item waits for its file (not in the export folder yet); looked for again on the next run."""
    alerts_failed: str | None = None
    """Why some of the item's alerts could not be recorded, when it is left `failed` for the next run to finish."""

    @property
    def label(self) -> str:
        if self.awaiting:
            return "awaiting_file"
        if self.failed or self.alerts_failed:
            return "failed"
        return "skipped" if self.skipped else "cached" if self.cached else "analysed"


def process_media(
    session: Session,
    item: MediaItem,
    post: Post,
    source: Source,
    store: MediaStore,
    analysis: AnalysisExecutor,
    on_detections: DetectionSink,
    max_attempts: int,
) -> MediaOutcome:
    """Fetch one media item, have its content analysed unless already analysed, and hand the detections on.

    A passing download failure leaves the item `failed` with its reason, to be retried on the next run. The item's
    changes are flushed only after the analysis, so no write (on SQLite, no database lock) is held meanwhile.
    """
    item.attempts += 1
    session.add(item)
    try:
        download = store.fetch(source, item)
    except MediaAwaitingFile as exc:
        item.attempts -= 1
        item.status, item.error = MediaStatus.AWAITING_FILE, exc.reason[:2000]
        session.add(item)
        session.flush()
        return MediaOutcome(awaiting=exc.reason)
    except MediaTooLarge as exc:
        return _give_up(session, item, MediaStatus.SKIPPED, str(exc))
    except NeedsAttention as exc:
        return _give_up(session, item, MediaStatus.SKIPPED, exc.reason)
    except Exception as exc:  # any other download failure is passing: retried on the next run
        status = MediaStatus.FAILED if item.attempts < max_attempts else MediaStatus.SKIPPED
        return _give_up(session, item, status, f"download failed: {exc}")
    item.sha256, item.size = download.sha256, download.size
    try:
        analysed = analysis.analyse(download.sha256)
    finally:
        store.release(download)
    outcome = MediaOutcome(analysed=analysed, cached=not analysed)
    analysis_row = session.get(MediaAnalysis, download.sha256)
    if analysis_row is None:
        raise RuntimeError(f"the analysis of media {download.sha256} was not stored")
    detections = list(session.exec(select(Detection).where(Detection.sha256 == analysis_row.detections_key)))
    item.status, item.error = MediaStatus.DONE, analysis_row.error
    session.add(item)
    session.flush()
    if detections:
        failures = _record_alerts(session, item, post, detections, on_detections)
        if failures:
            return _alerts_not_recorded(session, item, outcome, failures, max_attempts)
    return outcome


def _alerts_not_recorded(
    session: Session, item: MediaItem, outcome: MediaOutcome, failures: list[str], max_attempts: int
) -> MediaOutcome:
    """The item is left `failed` with the reason, so the next run records what is missing (alerts already recorded
    are found again, never doubled); out of attempts, it is skipped for good, so a failure that repeats stops."""
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    reason = f"alerts not recorded: {failures[0]}{more}"
    item.error = reason[:2000]
    if item.attempts >= max_attempts:
        item.status = MediaStatus.SKIPPED
        outcome.skipped = f"{reason} (out of attempts)"
    else:
        item.status = MediaStatus.FAILED
        outcome.alerts_failed = reason
    session.add(item)
    session.flush()
    return outcome


def _record_alerts(
    session: Session, item: MediaItem, post: Post, detections: list[Detection], on_detections: DetectionSink
) -> list[str]:
    """Hand the detections to the alerts hook in a savepoint: when the hook fails as a whole, what it wrote is
    undone and the item alone is failed (the run goes on with the other items); what the hook reports as failed for
    some people is returned, the rest kept. The content's analysis is kept either way, so a retry only records."""
    try:
        with session.begin_nested():
            return list(on_detections(session, item, post, detections))
    except Exception as exc:
        log.warning("the alerts of media item %s were not recorded", item.id, exc_info=True)
        return [f"{exc.__class__.__name__}: {exc}"]


def _give_up(session: Session, item: MediaItem, status: str, reason: str) -> MediaOutcome:
    item.status, item.error = status, reason[:2000]
    session.add(item)
    session.flush()
    if status == MediaStatus.FAILED:
        return MediaOutcome(failed=reason)
    return MediaOutcome(skipped=reason)
