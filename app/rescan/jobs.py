"""The re-scan as background work: one transaction per content, in a thread of its own (API) or in the foreground
(`impwatch rescan`). What is re-scanned and how: `app.rescan.service`."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.alerts.service import record_detections
from app.rescan.service import RescanProgress, contents_to_rescan
from core.clock import utcnow
from core.errors import InputRejected, NotFound
from watchers.analysis import FaceAnalyser, detections_of
from watchers.media_store import MediaMissing, MediaStore
from watchers.models import Detection, MediaAnalysis, MediaItem, Post
from watchlist.service import MatcherCache


@dataclass(frozen=True)
class Rescanner:
    db_engine: Engine
    media_store: MediaStore
    faces: FaceAnalyser
    matchers: MatcherCache
    public_base_url: str

    def run(self, progress: RescanProgress, on_content: Callable[[RescanProgress], None] | None = None) -> None:
        """Re-scan every kept content of the progress's window, updating `progress` as it goes."""
        try:
            with Session(self.db_engine) as session:
                contents = contents_to_rescan(session, progress.since)
            progress.total = len(contents)
            for sha256 in contents:
                self._rescan_one(sha256, progress)
                progress.done += 1
                if on_content is not None:
                    on_content(progress)
        except Exception as exc:
            progress.error = str(exc) or type(exc).__name__
            raise
        finally:
            progress.finished_at = utcnow()

    def _rescan_one(self, sha256: str, progress: RescanProgress) -> None:
        with Session(self.db_engine) as session:
            matcher = self.matchers.get(session)
        try:
            with self.media_store.open(sha256) as path:
                analysis = self.faces.analyse(path, matcher)
        except MediaMissing:
            progress.not_kept += 1
            return
        except InputRejected:
            progress.refused += 1
            return
        with Session(self.db_engine) as session:
            known = set(session.exec(select(Detection.person_id).where(Detection.sha256 == sha256)))
            added = [
                detection
                for detection in detections_of(sha256, analysis)
                if detection.person_id not in known and progress.person_id in (None, detection.person_id)
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
                alerts = record_detections(session, item, post, added, public_base_url=self.public_base_url)
                progress.alerts_touched += len(alerts)
            session.commit()
            progress.detections_added += len(added)


def _reusing(session: Session, sha256: str) -> list[str]:
    """The re-encodes that share this content's analysis (`MediaAnalysis.reused_from`): their posts get its new
    detections too."""
    return list(session.exec(select(MediaAnalysis.sha256).where(MediaAnalysis.reused_from == sha256)))


class RescanRegistry:
    """The re-scans of this process: each runs in a thread of its own; their progress is kept until restart."""

    def __init__(self, rescanner: Rescanner) -> None:
        self._rescanner = rescanner
        self._lock = threading.Lock()
        self._runs: dict[uuid.UUID, RescanProgress] = {}
        self._threads: list[threading.Thread] = []

    def start(self, person_id: uuid.UUID | None, since: datetime | None) -> RescanProgress:
        progress = RescanProgress(person_id=person_id, since=since)
        thread = threading.Thread(target=self._run, args=(progress,), name=f"rescan-{progress.id}", daemon=True)
        with self._lock:
            self._runs[progress.id] = progress
            self._threads.append(thread)
        thread.start()
        return progress

    def _run(self, progress: RescanProgress) -> None:
        try:
            self._rescanner.run(progress)
        except Exception:  # recorded in the progress; the thread ends either way
            return

    def get(self, rescan_id: uuid.UUID) -> RescanProgress:
        with self._lock:
            progress = self._runs.get(rescan_id)
        if progress is None:
            raise NotFound(f"re-scan {rescan_id} not found")
        return progress

    def close(self) -> None:
        """Wait for the running re-scans to end (they stop at the next content when the pool closes)."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()
