"""The re-scan as background work: one transaction per content (its new detections, their alerts and the re-scan's
progress together), in a thread of its own (API) or in the foreground (`impwatch rescan`). What is re-scanned and
how: `app.rescan.service`."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.alerts.service import record_detections
from app.rescan.models import Rescan, RescanState
from app.rescan.service import ContentOutcome, contents_to_rescan, get_rescan, record_content
from core.clock import utcnow
from core.errors import InputRejected
from watchers.analysis import FaceAnalyser, detections_of
from watchers.media_store import MediaMissing, MediaStore
from watchers.models import Detection, MediaAnalysis, MediaItem, Post
from watchers.scanning import FileAnalysis
from watchlist.service import MatcherCache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rescanner:
    db_engine: Engine
    media_store: MediaStore
    faces: FaceAnalyser
    matchers: MatcherCache
    public_base_url: str
    clock: Callable[[], datetime] = utcnow

    def run(self, rescan_id: uuid.UUID, on_content: Callable[[Rescan], None] | None = None) -> Rescan | None:
        """Re-scan every kept content of the re-scan's window, committing its progress with each content; the
        re-scan as it ended, or None when it is gone (its person was erased meanwhile)."""
        try:
            with Session(self.db_engine) as session:
                rescan = get_rescan(session, rescan_id)
                person_id, contents = rescan.person_id, contents_to_rescan(session, rescan.since)
                rescan.total, rescan.updated_at = len(contents), self.clock()
                session.add(rescan)
                session.commit()
            for sha256 in contents:
                progress = self._rescan_one(sha256, rescan_id, person_id)
                if progress is None:
                    return None
                if on_content is not None:
                    on_content(progress)
        except Exception as exc:
            self._end(rescan_id, RescanState.FAILED, str(exc) or type(exc).__name__)
            raise
        return self._end(rescan_id, RescanState.FINISHED)

    def _rescan_one(self, sha256: str, rescan_id: uuid.UUID, person_id: uuid.UUID | None) -> Rescan | None:
        with Session(self.db_engine) as session:
            matcher = self.matchers.get(session)
        outcome = ContentOutcome()
        analysis = None
        try:
            with self.media_store.open(sha256) as path:
                analysis = self.faces.analyse(path, matcher)
        except MediaMissing:
            outcome.not_kept = 1
        except InputRejected:
            outcome.refused = 1
        with Session(self.db_engine, expire_on_commit=False) as session:
            if analysis is not None:
                self._add_detections(session, sha256, analysis, person_id, outcome)
            progress = record_content(session, rescan_id, outcome, self.clock())
            session.commit()
        return progress

    def _add_detections(
        self,
        session: Session,
        sha256: str,
        analysis: FileAnalysis,
        person_id: uuid.UUID | None,
        outcome: ContentOutcome,
    ) -> None:
        """The detections of people not yet detected in the content, and their alerts on every post carrying it."""
        known = set(session.exec(select(Detection.person_id).where(Detection.sha256 == sha256)))
        added = [
            detection
            for detection in detections_of(sha256, analysis)
            if detection.person_id not in known and person_id in (None, detection.person_id)
        ]
        if not added:
            return
        session.add_all(added)
        session.flush()
        items = session.exec(
            select(MediaItem, Post)
            .join(Post, col(Post.id) == MediaItem.post_id)
            .where(col(MediaItem.sha256).in_([sha256, *_reusing(session, sha256)]))
        ).all()
        for item, post in items:
            outcome.alerts_touched += len(
                record_detections(session, item, post, added, public_base_url=self.public_base_url)
            )
        outcome.detections_added = len(added)

    def _end(self, rescan_id: uuid.UUID, state: str, error: str | None = None) -> Rescan | None:
        with Session(self.db_engine, expire_on_commit=False) as session:
            rescan = session.get(Rescan, rescan_id)
            if rescan is None:
                return None
            rescan.state, rescan.error = state, error[:2000] if error else None
            rescan.finished_at = rescan.updated_at = self.clock()
            session.add(rescan)
            session.commit()
            return rescan


def _reusing(session: Session, sha256: str) -> list[str]:
    """The re-encodes that share this content's analysis (`MediaAnalysis.reused_from`): their posts get its new
    detections too."""
    return list(session.exec(select(MediaAnalysis.sha256).where(MediaAnalysis.reused_from == sha256)))


class RescanRegistry:
    """Runs re-scans in threads of this process; their progress is in the database (`app.rescan.models`)."""

    def __init__(self, rescanner: Rescanner) -> None:
        self._rescanner = rescanner
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self, rescan_id: uuid.UUID) -> None:
        """Run a committed re-scan in the background."""
        thread = threading.Thread(target=self._run, args=(rescan_id,), name=f"rescan-{rescan_id}", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _run(self, rescan_id: uuid.UUID) -> None:
        try:
            self._rescanner.run(rescan_id)
        except Exception:
            log.exception("re-scan %s failed (recorded on the re-scan)", rescan_id)

    def close(self) -> None:
        """Wait for the running re-scans to end (they stop at the next content when the pool closes)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()
