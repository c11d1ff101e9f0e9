"""The long-lived objects one process needs, built once from settings and shared by the API, CLI and jobs."""

from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine

from app.auth.audit import install_audit_listener
from app.db import make_engine
from app.settings import Settings
from app.webhooks.urls import WebhookUrlPolicy
from watchers.media_store import MediaStore
from watchers.sources.base import SourceContext
from watchers.telegram_client import TelegramGateway, open_telegram_gateway
from watchers.workers import FaceWorkers
from watchlist.engine import FaceEngine
from watchlist.quality import QualityGates
from watchlist.service import EnrolmentPolicy, MatcherCache

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db_engine: Engine
    face_engine: FaceEngine
    enrolment_policy: EnrolmentPolicy
    matchers: MatcherCache
    workers: FaceWorkers
    media_store: MediaStore
    telegram: TelegramGateway | None = field(default=None)
    data_lock: int | None = field(default=None)
    """A shared lock on `data_dir/.in-use`, held while the process lives (see `claim_data_dir`)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Everything one process needs; every entry point (API, CLI command, worker) builds one, so this is also
        where the audit log starts listening."""
        install_audit_listener()
        media_store = MediaStore(settings.data_dir / "media", settings.max_media_bytes, settings.keep_media)
        data_lock = claim_data_dir(settings.data_dir, media_store)
        return cls(
            settings=settings,
            db_engine=make_engine(settings.resolved_database_url),
            face_engine=FaceEngine(settings.engine_options),
            enrolment_policy=EnrolmentPolicy(
                QualityGates(settings.min_face_pixels, settings.min_sharpness),
                settings.max_image_pixels,
                settings.matching_policy.calibration,
            ),
            matchers=MatcherCache(settings.matching_policy),
            workers=FaceWorkers(
                settings.engine_options,
                settings.frame_sampling,
                settings.face_workers,
                time_limit_seconds=settings.analysis_timeout_seconds,
            ),
            media_store=media_store,
            data_lock=data_lock,
        )

    @property
    def webhook_url_policy(self) -> WebhookUrlPolicy:
        return WebhookUrlPolicy(allow_private=self.settings.webhook_allow_private_urls)

    def source_context(self) -> SourceContext:
        return SourceContext(
            tme_base_url=self.settings.tme_base_url,
            http_timeout_seconds=self.settings.http_timeout_seconds,
            telegram_client=self._telegram_gateway(),
        )

    def _telegram_gateway(self) -> TelegramGateway | None:
        """The process's one Telegram client, opened on first use when an account is configured."""
        settings = self.settings
        if (
            self.telegram is None
            and settings.telegram_api_id
            and settings.telegram_api_hash
            and settings.telegram_session
        ):
            try:
                self.telegram = open_telegram_gateway(
                    settings.telegram_api_id, settings.telegram_api_hash, settings.telegram_session
                )
            except Exception:
                log.exception("could not connect to Telegram; telegram watches will report it")
        return self.telegram

    def close(self) -> None:
        self.workers.close()
        if self.telegram is not None:
            self.telegram.close()
        self.db_engine.dispose()
        if self.data_lock is not None:
            os.close(self.data_lock)
            self.data_lock = None


SCAN_TEMPORARY_PREFIX = "scan-"


def claim_data_dir(data_dir: Path, media_store: MediaStore) -> int:
    """Take a shared lock on `data_dir/.in-use` for the life of the process, first removing what a killed process
    left behind (media downloads and readings, uploads being scanned in `data_dir/tmp`) when no other process holds
    it: a live process's files are never touched, and leftovers of a crash go at the next start of the last process.
    The kernel drops the lock of a process that dies, kill -9 included."""
    data_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(data_dir / ".in-use", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.info("another process uses %s; crash leftovers are cleaned when the last one restarts", data_dir)
    else:
        removed = media_store.remove_leftovers()
        scans = list((data_dir / "tmp").glob(f"{SCAN_TEMPORARY_PREFIX}*"))
        for scan in scans:
            scan.unlink(missing_ok=True)
        if removed or scans:
            log.info("removed %d file(s) left behind by a process that was killed", removed + len(scans))
    fcntl.flock(descriptor, fcntl.LOCK_SH)
    return descriptor
