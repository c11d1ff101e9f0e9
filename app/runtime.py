"""The long-lived objects one process needs, built once from settings and shared by the API, CLI and jobs.

The parts that need the heavy libraries (the face engine and its worker pool, the matchers, the enrolment policy;
the Telegram client) are built on first use, with their imports: a command that lists webhooks or alerts never
imports dlib, PyAV or Telethon, and starts in a fraction of the time.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sqlalchemy.engine import Engine

from app.auth.audit import install_audit_listener
from app.db import make_engine
from app.settings import Settings
from watchers.media_store import MediaStore
from watchers.sources.base import SourceContext

if TYPE_CHECKING:
    from app.queue.broker import TaskQueue
    from app.webhooks.urls import WebhookUrlPolicy
    from watchers.frames import FrameSampling
    from watchers.service import WatchIntervals
    from watchers.telegram_client import TelegramGateway
    from watchers.workers import FaceWorkers
    from watchlist.engine import EngineOptions, FaceEngine
    from watchlist.service import EnrolmentPolicy, MatcherCache, MatchingPolicy, TextWatchlistCache

log = logging.getLogger(__name__)

T = TypeVar("T")


class built_on_first_use(Generic[T]):
    """A Runtime part built by `build` the first time it is read, and only once even when threads read it together
    (two worker pools would leak one). Assigning the attribute replaces the part, as with `cached_property`. A
    builder reads settings and options, never another part: the lock is not re-entrant."""

    def __init__(self, build: Callable[[Runtime], T]) -> None:
        self._build = build
        self._name = build.__name__

    def __set_name__(self, _owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, runtime: None, owner: type | None = None) -> built_on_first_use[T]: ...
    @overload
    def __get__(self, runtime: Runtime, owner: type | None = None) -> T: ...
    def __get__(self, runtime: Runtime | None, owner: type | None = None) -> T | built_on_first_use[T]:
        if runtime is None:
            return self
        parts: dict[str, Any] = runtime.__dict__
        with runtime.building:
            if self._name not in parts:
                parts[self._name] = self._build(runtime)
        return parts[self._name]

    def is_built(self, runtime: Runtime) -> bool:
        return self._name in runtime.__dict__


def _face_engine(runtime: Runtime) -> FaceEngine:
    from watchlist.engine import FaceEngine

    return FaceEngine(runtime.engine_options)


def _enrolment_policy(runtime: Runtime) -> EnrolmentPolicy:
    from watchlist.quality import QualityGates
    from watchlist.service import EnrolmentPolicy

    settings = runtime.settings
    return EnrolmentPolicy(
        QualityGates(settings.min_face_pixels, settings.min_sharpness),
        settings.max_image_pixels,
        runtime.matching_policy.calibration,
    )


def _matchers(runtime: Runtime) -> MatcherCache:
    from watchlist.service import MatcherCache

    return MatcherCache(runtime.matching_policy)


def _text_watchlists(runtime: Runtime) -> TextWatchlistCache:
    from watchlist.service import TextWatchlistCache

    return TextWatchlistCache(runtime.settings.phone_region)


def _workers(runtime: Runtime) -> FaceWorkers:
    from watchers.workers import FaceWorkers

    return FaceWorkers(
        runtime.engine_options,
        runtime.frame_sampling,
        runtime.settings.face_workers,
        time_limit_seconds=runtime.settings.analysis_timeout_seconds,
    )


def _task_queue(runtime: Runtime) -> TaskQueue:
    from app.queue.broker import TaskQueue

    return TaskQueue.from_settings(runtime.settings)


@dataclass
class Runtime:
    settings: Settings
    db_engine: Engine
    media_store: MediaStore
    telegram: TelegramGateway | None = field(default=None)
    data_lock: int | None = field(default=None)
    """A shared lock on `data_dir/.in-use`, held while the process lives (see `claim_data_dir`)."""
    building: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Held while a part is built on first use."""

    face_engine = built_on_first_use(_face_engine)
    enrolment_policy = built_on_first_use(_enrolment_policy)
    matchers = built_on_first_use(_matchers)
    text_watchlists = built_on_first_use(_text_watchlists)
    workers = built_on_first_use(_workers)
    """The face worker pool: its processes start with the first analysis, and only commands that scan build it."""
    task_queue = built_on_first_use(_task_queue)
    """The Dramatiq broker and its actors (`app.queue`), when `IMPWATCH_BROKER_URL` is set and work is enqueued."""

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
            media_store=media_store,
            data_lock=data_lock,
        )

    @property
    def engine_options(self) -> EngineOptions:
        from watchlist.engine import EngineOptions

        settings = self.settings
        return EngineOptions(
            detection_max_side=settings.detection_max_side,
            small_image_side=settings.small_image_side,
            detector_model=settings.detector_model,
            face_detector=settings.face_detector,
            frames_face_detector=settings.video_face_detector,
            centerface_side=settings.centerface_side,
            max_image_pixels=settings.max_image_pixels,
            max_faces=settings.max_faces_per_image,
        )

    @property
    def matching_policy(self) -> MatchingPolicy:
        """How faces are decided: calibrated thresholds, the margin of one face one person, video tracks."""
        from watchlist.calibration import CalibrationPolicy
        from watchlist.service import MatchingPolicy

        settings = self.settings
        calibration = CalibrationPolicy(
            match_target=settings.match_false_alert_target,
            possible_target=settings.possible_false_alert_target,
            floor=settings.threshold_floor,
            ceiling=settings.default_tolerance,
            min_faces=settings.calibration_min_faces,
            full_weight_faces=settings.calibration_full_weight_faces,
            default_match=settings.default_match_threshold,
            default_possible=settings.default_possible_threshold,
        )
        return MatchingPolicy(
            calibration=calibration,
            margin=settings.match_margin,
            track_min_frames=settings.track_min_frames,
            strong_margin=settings.track_strong_margin,
        )

    @property
    def frame_sampling(self) -> FrameSampling:
        from watchers.frames import FrameSampling

        settings = self.settings
        return FrameSampling(
            fps=settings.video_sample_fps, max_seconds=settings.video_max_seconds, max_frames=settings.video_max_frames
        )

    @property
    def watch_intervals(self) -> WatchIntervals:
        from watchers.service import WatchIntervals

        return WatchIntervals(
            default_seconds=self.settings.default_watch_interval_seconds,
            min_seconds=self.settings.min_watch_interval_seconds,
        )

    @property
    def webhook_url_policy(self) -> WebhookUrlPolicy:
        from app.webhooks.urls import WebhookUrlPolicy

        return WebhookUrlPolicy(allow_private=self.settings.webhook_allow_private_urls)

    def source_context(self, telegram: bool = True) -> SourceContext:
        """What sources read with; `telegram=False` leaves the Telegram account out (with a broker, only the one
        consumer of the telegram queue may use the session: `app.queue`)."""
        from watchers.telegram_peers import DbPeerCache

        return SourceContext(
            tme_base_url=self.settings.tme_base_url,
            http_timeout_seconds=self.settings.http_timeout_seconds,
            telegram_client=self._telegram_gateway() if telegram else None,
            telegram_peers=DbPeerCache(self.db_engine),
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
            from watchers.telegram_client import open_telegram_gateway

            try:
                self.telegram = open_telegram_gateway(
                    settings.telegram_api_id, settings.telegram_api_hash, settings.telegram_session
                )
            except Exception:
                log.exception("could not connect to Telegram; telegram watches will report it")
        return self.telegram

    def close(self) -> None:
        if Runtime.workers.is_built(self):
            self.workers.close()
        if Runtime.task_queue.is_built(self):
            self.task_queue.close()
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
