"""Reports from the public. No commits here: the reporting bot (`app.reports.jobs`) owns its transactions.

A report is a post of the installation's reporting-bot watch (channel "reporting bot") with one media item, handed
to the watch pipeline's own `process_media`: the media is downloaded under the size caps, analysed once by content
(a fake already seen on a watched channel is not analysed again), and the faces of people who accept public
reports are recorded as occurrences on their alerts, where the press office sees everything else.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.reports.models import REPORT_CHANNEL, REPORT_WATCH_KIND, PublicReport
from core.clock import utcnow
from watchers.models import Detection, MediaItem, Post, Watch
from watchlist.models import Person

_PUBLIC_POST = re.compile(
    r"(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/(?:s/)?"
    r"(?P<channel>[A-Za-z][A-Za-z0-9_]{3,30}[A-Za-z0-9])/(?P<id>\d{1,12})\b",
    re.IGNORECASE,
)
_PRIVATE_LINK = re.compile(r"(?:t\.me|telegram\.me|telegram\.dog)/(?:c/\d+|\+|joinchat/)", re.IGNORECASE)


def reporter_hash(key: str, telegram_user_id: int) -> str:
    """The only trace of a reader that is kept: HMAC-SHA256 of their Telegram id with the installation's key."""
    return hmac.new(key.encode(), str(telegram_user_id).encode(), hashlib.sha256).hexdigest()


def over_rate(session: Session, reporter: str, now: datetime, per_hour: int) -> bool:
    """Whether this reader has already sent `per_hour` reports in the last hour."""
    count = session.exec(
        select(sa.func.count()).where(
            PublicReport.reporter_hash == reporter, col(PublicReport.received_at) > now - timedelta(hours=1)
        )
    ).one()
    return count >= per_hour


@dataclass(frozen=True)
class PostLink:
    channel: str
    message_id: int

    @property
    def permalink(self) -> str:
        return f"https://t.me/{self.channel}/{self.message_id}"


def find_link(text: str) -> PostLink | str | None:
    """The public post a message links to; "private" for a link to a private chat; None for no link at all."""
    found = _PUBLIC_POST.search(text)
    if found is not None and found["channel"].lower() not in {"joinchat", "share"}:
        return PostLink(found["channel"].lower(), int(found["id"]))
    if _PRIVATE_LINK.search(text):
        return "private"
    return None


def report_watch(session: Session) -> Watch:
    """The installation's one watch that owns reports' posts (every post belongs to a watch): disabled, so the
    scheduler never runs it."""
    found = session.exec(select(Watch).where(Watch.kind == REPORT_WATCH_KIND)).first()
    if found is not None:
        return found
    watch = Watch(kind=REPORT_WATCH_KIND, target=REPORT_CHANNEL, config={"kind": REPORT_WATCH_KIND}, enabled=False)
    session.add(watch)
    session.flush()
    return watch


def new_report_post(
    session: Session, *, permalink: str, text: str, media_kind: str, locator: str, size: int | None
) -> tuple[Post, MediaItem]:
    """The report as a post of the reporting bot with its one media item, still to be downloaded."""
    watch = report_watch(session)
    post = Post(
        watch_id=watch.id,
        channel=REPORT_CHANNEL,
        message_id=uuid.uuid4().int >> 66,
        permalink=permalink,
        posted_at=utcnow(),
        text=text[:4000],
    )
    session.add(post)
    session.flush()
    item = MediaItem(post_id=post.id, kind=media_kind, locator=locator[:2000], size=size)
    session.add(item)
    session.flush()
    return post, item


def accepting_public_reports(session: Session, detections: Sequence[Detection]) -> list[Detection]:
    """The detections of people who accept public reports (active, `public_reports`); the others are left out of
    the report, whatever the stored analysis found."""
    person_ids = {detection.person_id for detection in detections}
    if not person_ids:
        return []
    accepting = set(
        session.exec(
            select(Person.id).where(
                col(Person.id).in_(person_ids), Person.public_reports == sa.true(), Person.active == sa.true()
            )
        )
    )
    return [detection for detection in detections if detection.person_id in accepting]


def people_found(session: Session, sha256: str) -> list[Person]:
    """The people who accept public reports and appear in the content, in name order."""
    detections = list(session.exec(select(Detection).where(Detection.sha256 == sha256)))
    person_ids = {detection.person_id for detection in accepting_public_reports(session, detections)}
    if not person_ids:
        return []
    return list(session.exec(select(Person).where(col(Person.id).in_(person_ids)).order_by(col(Person.display_name))))


def record_report(
    session: Session, reporter: str, kind: str, outcome: str, matched: int = 0, post_id: uuid.UUID | None = None
) -> PublicReport:
    report = PublicReport(reporter_hash=reporter, kind=kind, outcome=outcome, matched=matched, post_id=post_id)
    session.add(report)
    session.flush()
    return report
