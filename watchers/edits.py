"""Edited posts: media replaced after a post was read is a new chance for a fake.

Each run reads the watch's posts of a recent window again (`IMPWATCH_EDIT_WINDOW_HOURS`, a source that can:
`RecentSource`) and compares each stored post's media with what the post holds now. Media the post did not hold
before (another URL, another file, another size at the same message) becomes a new media item of the same post,
analysed like any other; media that went away is left as it was (what was analysed stays on record). A post not
stored yet is left to the live fetch. Never commits: the run owns the transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from watchers import pipeline
from watchers.models import MediaItem, Post, Watch
from watchers.sources.base import FetchedPost, MediaRef, RecentSource, Source


def recheck_recent(
    session: Session, watch: Watch, source: Source, window: timedelta, now: datetime, max_pages: int
) -> int:
    """Read the posts of the last `window` again and add the media they gained; the number of media items added."""
    if window <= timedelta(0) or not isinstance(source, RecentSource):
        return 0
    added = 0
    for fetched in source.fetch_recent(now - window, max_pages):
        post = session.exec(
            select(Post).where(Post.watch_id == watch.id, Post.message_id == fetched.message_id)
        ).first()
        if post is not None:
            added += add_changed_media(session, post, fetched)
    return added


def add_changed_media(session: Session, post: Post, fetched: FetchedPost) -> int:
    """New media items for the media of `fetched` that `post` does not hold yet; how many."""
    items = list(session.exec(select(MediaItem).where(MediaItem.post_id == post.id).order_by(col(MediaItem.position))))
    position = max((item.position for item in items), default=-1) + 1
    added: list[MediaItem] = []
    for media in fetched.media:
        if any(_same(media, item) for item in [*items, *added]):
            continue
        item = pipeline.media_item_of(post, position, media)
        session.add(item)
        added.append(item)
        position += 1
    session.flush()
    return len(added)


def _same(media: MediaRef, item: MediaItem) -> bool:
    """The same media: the same locator and file name, and the same size where both are known (Telegram keeps a
    message's locator when its media is replaced; the size tells the files apart)."""
    if (media.locator, media.file_name) != (item.locator, item.file_name):
        return False
    return media.size is None or item.size is None or media.size == item.size
