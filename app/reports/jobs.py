"""The reporting bot: long polling of the installation's bot for readers' photos, videos and t.me links, each
checked against the people who accept public reports and answered in the reader's language, never with silence.

Its button presses (when the notification channels use the same bot) are handed to `ButtonPresses.handle`, since
one bot's updates can only be read by one reader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.alerts import service as alerts
from app.notifications.jobs import ButtonPresses
from app.notifications.telegram import TelegramBots
from app.reports import service
from app.reports.messages import answer, reader_language
from app.reports.telegram_files import BotFileSource
from core.clock import utcnow
from watchers.analysis import AnalysisExecutor
from watchers.media_store import MediaStore
from watchers.models import Detection, MediaAnalysis, MediaItem, MediaStatus, Post
from watchers.pipeline import process_media
from watchers.sources.base import NeedsAttention, Source, SourceContext
from watchers.sources.tme_preview import TmePreviewConfig, TmePreviewSource

log = logging.getLogger(__name__)
BOT_THREAD_NAME = "reporting-bot"


@dataclass(frozen=True)
class Incoming:
    """The media of a reader's message, or of the post a link names."""

    kind: str
    locator: str
    size: int | None
    permalink: str
    text: str


@dataclass
class ReportingBot:
    db_engine: Engine
    bots: TelegramBots
    token: str
    hash_key: str
    media_store: MediaStore
    analysis: AnalysisExecutor
    source_context: SourceContext
    public_base_url: str
    campaign_terms: Sequence[str] = ()
    per_hour: int = 10
    max_bytes: int = 20 * 1024 * 1024
    poll_seconds: int = 30
    presses: ButtonPresses | None = None
    _offset: int | None = field(default=None, repr=False)

    def poll_once(self) -> int:
        """One `getUpdates` (long polling up to `poll_seconds`); every message answered. Returns how many updates."""
        updates = self.bots.updates(
            self.token, self._offset, timeout=self.poll_seconds, allowed=["message", "callback_query"]
        )
        for update in updates:
            self._offset = update.update_id + 1
            if update.callback_query is not None and self.presses is not None:
                self.presses.handle(self.token, update.callback_query)
            elif update.message is not None:
                self.reply(update.message)
        return len(updates)

    def run(self, stop: threading.Event) -> None:
        """Poll until `stop` is set; a failed poll (Telegram unreachable) is logged and tried again after a pause."""
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                log.warning("the reporting bot could not read its updates: %s", exc)
                stop.wait(5)

    def reply(self, message: Any) -> str:
        """Check what the reader sent and answer it, replying to their message."""
        try:
            text = self.check(message)
        except Exception:
            log.exception("a report could not be checked")
            text = answer("failed", _language(message))
        self.bots.call(
            self.token, lambda bot: bot.send_message(message.chat.id, text, reply_to_message_id=message.message_id)
        )
        return text

    def check(self, message: Any) -> str:
        language = _language(message)
        if message.from_user is None:
            return answer("help", language)
        reporter = service.reporter_hash(self.hash_key, message.from_user.id)
        incoming = media_of(message)
        link = None if incoming is not None else service.find_link(message.text or message.caption or "")
        if incoming is None and link is None:
            return answer("help", language)
        with Session(self.db_engine) as session:
            if service.over_rate(session, reporter, utcnow(), self.per_hour):
                return answer("rate_limited", language)
        if incoming is not None:
            return self._check_media(reporter, incoming, BotFileSource(self.bots, self.token, 30.0), language)
        if link == "private" or not isinstance(link, service.PostLink):
            return self._refused(reporter, "link", "private_link", language)
        return self._check_link(reporter, link, language)

    def _check_link(self, reporter: str, link: service.PostLink, language: str) -> str:
        """A public post resolved through its channel's t.me/s page, then checked as a forwarded media would be."""
        source = TmePreviewSource(TmePreviewConfig(kind="tme_preview", channel=link.channel), self.source_context)
        try:
            post = source.read_post(link.message_id)
        except NeedsAttention:
            return self._refused(reporter, "link", "private_link", language)
        if post is None:
            return self._refused(reporter, "link", "not_found", language)
        media = next(iter(post.media), None)
        if media is None:
            return self._refused(reporter, "link", "no_media", language)
        incoming = Incoming(str(media.kind), media.locator, media.size, link.permalink, post.text)
        return self._check_media(reporter, incoming, source, language, kind="link")

    def _check_media(
        self, reporter: str, incoming: Incoming, source: Source, language: str, kind: str | None = None
    ) -> str:
        kind = kind or ("photo" if incoming.kind in ("photo", "image_document") else "video")
        if incoming.size is not None and incoming.size > self.max_bytes:
            return self._refused(reporter, kind, "too_large", language)
        with Session(self.db_engine, expire_on_commit=False) as session:
            post, item = service.new_report_post(
                session,
                permalink=incoming.permalink,
                text=incoming.text,
                media_kind=incoming.kind,
                locator=incoming.locator,
                size=incoming.size,
            )
            session.commit()
        with Session(self.db_engine) as session:
            item, post = session.merge(item), session.merge(post)
            store = replace(self.media_store, max_bytes=min(self.media_store.max_bytes, self.max_bytes))
            process_media(session, item, post, source, store, self.analysis, self._record, max_attempts=1)
            outcome, people = self._outcome(session, item)
            named = [person.display_name for person in people if person.public_name]
            service.record_report(session, reporter, kind, outcome, len(people), post.id)
            session.commit()
        if outcome != "matched":
            return answer(outcome, language, megabytes=self.max_bytes // (1024 * 1024))
        return answer("matched_named", language, names=", ".join(named)) if named else answer("matched", language)

    def _record(self, session: Session, item: MediaItem, post: Post, detections: list[Detection]) -> list[str]:
        """The alerts hook of a report: only people who accept public reports get an occurrence."""
        return alerts.record_detections(
            session,
            item,
            post,
            service.accepting_public_reports(session, detections),
            public_base_url=self.public_base_url,
            campaign_terms=self.campaign_terms,
        )

    def _outcome(self, session: Session, item: MediaItem) -> tuple[str, list[Any]]:
        if item.status == MediaStatus.SKIPPED and "cap" in (item.error or ""):
            return "too_large", []
        if item.status != MediaStatus.DONE or item.sha256 is None:
            return "failed", []
        analysed = session.get(MediaAnalysis, item.sha256)
        if analysed is None or analysed.error_code:
            return "unreadable", []
        people = service.people_found(session, item.sha256)
        return ("matched" if people else "no_match"), people

    def _refused(self, reporter: str, kind: str, outcome: str, language: str) -> str:
        with Session(self.db_engine) as session:
            service.record_report(session, reporter, kind, outcome)
            session.commit()
        return answer(outcome, language, megabytes=self.max_bytes // (1024 * 1024))


def media_of(message: Any) -> Incoming | None:
    """The photo (its largest size), video, animation, round video or file a reader sent, with where it came from
    when it was forwarded from a public channel."""
    permalink = _forwarded_permalink(message)
    text = message.caption or ""
    if message.photo:
        largest = max(message.photo, key=lambda size: (size.width or 0) * (size.height or 0))
        return Incoming("photo", largest.file_id, largest.file_size, permalink, text)
    for attribute, kind in (("video", "video"), ("animation", "animation"), ("video_note", "round_video")):
        found = getattr(message, attribute, None)
        if found is not None:
            return Incoming(kind, found.file_id, found.file_size, permalink, text)
    if message.document is not None:
        kind = "video" if (message.document.mime_type or "").startswith("video/") else "image_document"
        return Incoming(kind, message.document.file_id, message.document.file_size, permalink, text)
    return None


def _forwarded_permalink(message: Any) -> str:
    origin = getattr(message, "forward_origin", None)
    chat = getattr(origin, "chat", None)
    username = getattr(chat, "username", None)
    message_id = getattr(origin, "message_id", None)
    return f"https://t.me/{username}/{message_id}" if username and message_id else ""


def _language(message: Any) -> str:
    user = getattr(message, "from_user", None)
    return reader_language(getattr(user, "language_code", None))
