"""The long-lived objects one process needs, built once from settings and shared by the API, CLI and jobs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

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

    @classmethod
    def from_settings(cls, settings: Settings) -> Runtime:
        """Everything one process needs; every entry point (API, CLI command, worker) builds one, so this is also
        where the audit log starts listening."""
        install_audit_listener()
        return cls(
            settings=settings,
            db_engine=make_engine(settings.resolved_database_url),
            face_engine=FaceEngine(settings.engine_options),
            enrolment_policy=EnrolmentPolicy(
                QualityGates(settings.min_face_pixels, settings.min_sharpness), settings.max_image_pixels
            ),
            matchers=MatcherCache(settings.default_tolerance),
            workers=FaceWorkers(
                settings.engine_options,
                settings.frame_sampling,
                settings.face_workers,
                time_limit_seconds=settings.analysis_timeout_seconds,
            ),
            media_store=MediaStore(settings.data_dir / "media", settings.max_media_bytes, settings.keep_media),
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
