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
    period, in its own transaction, and says how many it removed (one audit record when any)."""
    retention = timedelta(days=runtime.settings.closed_alert_crop_retention_days)

    def apply_retention() -> int:
        try:
            with Session(runtime.db_engine) as session:
                removed = privacy.expire_closed_alert_crops(session, clock(), retention)
                if removed:
                    audit(session, INSTALLATION, "retention.crops_removed", "detection", "*", crops=removed)
                session.commit()
                return removed
        except Exception:
            log.exception("retention run failed; retried at the next run")
            return 0

    return apply_retention
