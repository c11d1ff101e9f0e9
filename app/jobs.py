"""The scheduled work of the service itself: the retention of face crops of closed alerts.

Registered beside the watches and the webhook dispatcher by `app.scheduling`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session

from app import privacy
from app.auth.service import audit
from app.runtime import Runtime
from core.clock import utcnow
from core.scope import INSTALLATION

log = logging.getLogger(__name__)
RETENTION_JOB_ID = "retention"


def build_retention_job(runtime: Runtime, clock: Callable[[], datetime] = utcnow) -> Callable[[], int]:
    """A run removes the face crops of alerts closed as a false match or dismissed longer ago than the retention
    period, and the negatives older than theirs, in its own transaction, and says how many crops it removed (one
    audit record each when any)."""
    retention = timedelta(days=runtime.settings.closed_alert_crop_retention_days)
    negative_retention = timedelta(days=runtime.settings.negative_retention_days)

    def apply_retention() -> int:
        try:
            with Session(runtime.db_engine) as session:
                removed = privacy.expire_closed_alert_crops(session, clock(), retention)
                if removed:
                    audit(session, INSTALLATION, "retention.crops_removed", "detection", "*", crops=removed)
                negatives = privacy.expire_negative_faces(session, clock(), negative_retention)
                if negatives:
                    audit(session, INSTALLATION, "retention.negatives_removed", "negative_face", "*", faces=negatives)
                session.commit()
                return removed
        except Exception:
            log.exception("retention run failed; retried at the next run")
            return 0

    return apply_retention
