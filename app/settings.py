"""The installation's settings: the one place that reads the environment (prefix `IMPWATCH_`).

Plain values only: this module imports no domain code (every command reads the settings, so whatever they import
every command pays for). `app.runtime` turns them into the domain's options.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IMPWATCH_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="Folder of the SQLite database (by default), downloaded media (`media/`) and uploads being "
        "scanned (`tmp/`).",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means a SQLite file `impwatch.db` under data_dir.",
    )
    host: str = Field(default="127.0.0.1", description="Address `impwatch serve` listens on (`--host` overrides it).")
    port: int = Field(
        default=8000, description="Port `impwatch serve` (and the demo's console) listens on; `--port` overrides it."
    )
    worker_metrics_host: str = Field(default="127.0.0.1", description="Where `impwatch worker` serves its metrics.")
    worker_metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="Port of `impwatch worker`'s Prometheus metrics; 0: none."
    )

    default_tolerance: float = Field(
        default=0.5, gt=0, le=1.0, description="The ceiling: no calibrated threshold (match or possible) is looser."
    )
    threshold_floor: float = Field(default=0.30, gt=0, le=1.0, description="No calibrated threshold is stricter.")
    default_match_threshold: float = Field(
        default=0.32, gt=0, le=1.0, description="`match` threshold of a person until their counts suffice."
    )
    default_possible_threshold: float = Field(
        default=0.5, gt=0, le=1.0, description="`possible` threshold of a person until their counts suffice."
    )
    match_false_alert_target: float = Field(
        default=1e-4, gt=0, lt=1, description="Estimated false alerts per face seen at the `match` threshold."
    )
    possible_false_alert_target: float = Field(
        default=0.2, gt=0, lt=1, description="Estimated share of background faces kept as `possible`."
    )
    calibration_min_faces: int = Field(default=20, ge=1, description="Counts a person needs to be calibrated.")
    calibration_full_weight_faces: int = Field(
        default=100, ge=1, description="Below this many counts the `match` threshold is drawn towards the default."
    )
    match_margin: float = Field(
        default=0.03, ge=0, le=1.0, description="Another person is named beside the nearest only this close."
    )
    negative_retention_days: float = Field(
        default=180.0, gt=0, description="Faces triaged as false matches are kept as negatives this long."
    )
    track_min_frames: int = Field(
        default=2, ge=1, description="Frames of one track a video needs for a `match` (or one far below threshold)."
    )
    track_strong_margin: float = Field(
        default=0.04, ge=0, description="One frame this far below a person's `match` threshold decides a video."
    )
    face_detector: Literal["centerface", "hog"] = Field(
        default="centerface", description="Photos: CenterFace (onnxruntime), or dlib's detector (`detector_model`)."
    )
    video_face_detector: Literal["centerface", "hog"] = Field(
        default="hog", description="The detector of video and animation frames (`centerface` or `hog`)."
    )
    centerface_side: int = Field(
        default=640, ge=64, le=4096, description="CenterFace sees every image scaled to this longest side."
    )
    detection_max_side: int = Field(default=1024, ge=160, description="dlib: larger images are downscaled to detect.")
    small_image_side: int = Field(default=480, ge=32, description="dlib: smaller images are upsampled twice to detect.")
    detector_model: str = Field(default="hog", pattern="^(hog|cnn)$", description="dlib's model, with `hog`.")

    min_face_pixels: int = Field(default=60, ge=20, description="Enrolment: smallest accepted face side, in pixels.")
    min_sharpness: float = Field(
        default=25.0, ge=0, description="Enrolment: smallest accepted sharpness (variance of the Laplacian)."
    )
    max_image_pixels: int = Field(
        default=50_000_000, ge=1_000_000, description="Largest photo, animation or video frame, in pixels."
    )
    max_faces_per_image: int = Field(
        default=100, ge=1, description="Faces encoded per photo or frame, the largest first; more: truncated."
    )
    max_upload_bytes: int = Field(
        default=200 * 1024 * 1024,
        ge=1024,
        description="Largest uploaded file; an upload request's body may be 64 KiB more.",
    )
    max_json_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest body of a request that is not a multipart upload."
    )

    video_sample_fps: float = Field(
        default=1.0, gt=0, le=30, description="Frames analysed per second of a video or animation, after its first."
    )
    video_max_seconds: float = Field(
        default=1800.0, gt=0, description="Seconds of a video or animation analysed from its start; more: truncated."
    )
    video_max_frames: int = Field(
        default=1800, ge=1, description="Frames analysed of one video or animation at most; more: truncated."
    )

    max_media_bytes: int = Field(default=100 * 1024 * 1024, ge=1024, description="Cap on one downloaded media file.")
    keep_media: bool = Field(default=False, description="Keep downloaded media after analysis (evidence archive).")
    rescan_stale_seconds: float = Field(
        default=900.0,
        gt=0,
        description="A running re-scan without progress for this long reads as interrupted (its process stopped).",
    )
    face_workers: int = Field(default=2, ge=0, description="Processes for face work; 0 runs it in the caller.")

    scheduler_enabled: bool = Field(
        default=True,
        description="`impwatch serve` also runs the scheduled work (watches, deliveries, retention); false: the API "
        "only, beside an `impwatch worker`.",
    )
    scheduler_sync_seconds: float = Field(default=5.0, gt=0, description="How often jobs follow the watch table.")
    scheduler_jitter_seconds: float = Field(
        default=10.0, ge=0, description="Each watch run starts up to this many seconds late, at random (0: on time)."
    )
    scheduler_threads: int = Field(
        default=4, ge=1, description="Watch runs at once in the scheduling process (or in `--queues watches`)."
    )
    scheduler_standby_seconds: float = Field(
        default=5.0,
        gt=0,
        description="On PostgreSQL, how often a standby `impwatch worker` tries to take the scheduler's lock.",
    )

    broker_url: str = Field(
        default="",
        pattern=r"^((amqps?|rediss?)://.+)?$",
        description="The Dramatiq broker: amqp://user:password@host:5672/vhost (RabbitMQ) or redis://host:6379/0. "
        "Empty: watch runs and face analysis run in the scheduling process, as on one machine.",
    )
    broker_queue_prefix: str = Field(
        default="",
        pattern=r"^([A-Za-z_][A-Za-z0-9_.-]*)?$",
        description="Put before every queue name (analyse, watches, telegram): installations sharing a broker.",
    )
    broker_analysis_deadline_seconds: float = Field(
        default=900.0,
        gt=0,
        description="How long a watch run waits for the analysis it enqueued to be stored; then the run fails.",
    )
    broker_max_retries: int = Field(
        default=3, ge=0, description="Retries of a message whose actor failed (backoff from 1 s), then dead-lettered."
    )
    default_watch_interval_seconds: int = Field(
        default=300, ge=1, description="Seconds between the runs of a watch that names no interval."
    )
    min_watch_interval_seconds: int = Field(
        default=30, ge=1, description="Shortest interval a watch may have, in seconds; shorter is refused."
    )
    watch_batch_limit: int = Field(default=50, ge=1, description="Posts taken from a source in one run.")
    media_max_attempts: int = Field(default=5, ge=1, description="Download attempts before a media item is skipped.")
    edit_window_hours: float = Field(
        default=24,
        ge=0,
        description="Each run reads the posts of this many last hours again; media replaced by an edit is analysed "
        "as new media of the post (0: never).",
    )
    history_pages_per_run: int = Field(
        default=3, ge=1, description="Requests a run may spend reading a watch's history back to its `since`."
    )

    tme_base_url: str = Field(
        default="https://t.me",
        description="Base URL of public channel previews (`/s/<channel>`) and of the post links of Telegram exports.",
    )
    http_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Deadline of one request for a public channel preview, in seconds."
    )
    telegram_api_id: int | None = Field(
        default=None, description="API id of the installation's Telegram account (my.telegram.org)."
    )
    telegram_api_hash: str | None = Field(default=None, description="API hash that goes with the API id.")
    telegram_session: str | None = Field(
        default=None, description="The account's Telethon StringSession (`impwatch telegram login` prints it)."
    )

    phone_region: str = Field(
        default="KZ",
        pattern="^[A-Z]{2}$",
        description="Region (ISO 3166 code) a phone number written without a country code is read in.",
    )
    campaign_terms: list[str] = Field(
        default=[],
        description='Terms of a known campaign (a JSON list, e.g. ["контракт", "Өлмес полк"]): a post with a '
        "signal and one of them raises its alerts' priority.",
    )

    fetch_linked_pages: bool = Field(
        default=False,
        description="Read the page of a new lookalike alert's link once (public addresses only, as webhooks), "
        "keeping its title and whether it names the person.",
    )
    linked_page_timeout_seconds: float = Field(default=5.0, gt=0, description="One deadline for a linked page.")
    linked_page_max_bytes: int = Field(default=512 * 1024, ge=1024, description="Most of a linked page read.")

    public_base_url: str = Field(
        default="http://127.0.0.1:8000", description="How receivers reach this service: links in webhook events."
    )
    webhook_retry_schedule_seconds: list[float] = Field(
        default=[5, 300, 1800, 7200, 18000, 36000, 36000],
        description="Waits before each retry of a webhook delivery; after the last one the delivery is dead.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="One deadline per attempt: connect, TLS, send and answer together."
    )
    webhook_concurrency: int = Field(
        default=8, ge=1, description="Endpoints sent to at once; deliveries to one endpoint go one at a time."
    )
    webhook_dispatch_seconds: float = Field(default=1.0, gt=0, description="How often due deliveries are sent.")
    webhook_batch_size: int = Field(default=50, ge=1, description="Due deliveries read from the outbox at a time.")
    webhook_allow_private_urls: bool = Field(
        default=False,
        description="Allow webhook URLs that resolve to addresses that are not globally routable (tests, intranets).",
    )

    notification_retry_schedule_seconds: list[float] = Field(
        default=[5, 300, 1800, 7200, 18000, 36000, 36000],
        description="Waits before each retry of a Telegram or email notification; then it is dead.",
    )
    notification_timeout_seconds: float = Field(default=15.0, gt=0, description="Longest attempt of one message.")
    notification_concurrency: int = Field(
        default=4, ge=1, description="Channels sent to at once; messages to one channel go one at a time."
    )
    notification_dispatch_seconds: float = Field(default=1.0, gt=0, description="How often due messages are sent.")
    notification_batch_size: int = Field(default=50, ge=1, description="Due messages read from the outbox at a time.")
    notification_digest_check_seconds: float = Field(
        default=300.0, gt=0, description="How often channels are checked for a daily digest that is due."
    )
    telegram_bot_api_base_url: str = Field(
        default="https://api.telegram.org/bot", description="The Bot API's base URL (the token is appended)."
    )
    telegram_bot_file_base_url: str = Field(
        default="https://api.telegram.org/file/bot", description="The Bot API's file base URL (token appended)."
    )
    telegram_callback_poll_seconds: float = Field(
        default=2.0, gt=0, description="How often the notification bots are asked for button presses."
    )
    smtp_host: str | None = Field(
        default=None,
        description="The mail server; without it no email is sent (email deliveries are retried and say why).",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="The mail server's port.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS before login.")
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle to verify the mail server with.")
    smtp_username: str | None = Field(default=None, description="Login at the mail server; empty: none.")
    smtp_password: str | None = Field(default=None, description="Password of the mail server's login.")
    smtp_from: str = Field(default="impwatch@localhost", description="The From address of notification emails.")

    report_bot_token: str | None = Field(
        default=None, description="The reporting bot's token: readers send it photos, videos and t.me links."
    )
    report_bot_hash_key: str | None = Field(
        default=None, min_length=16, description="Key of the HMAC that keeps a reporter's Telegram id (never the id)."
    )
    report_bot_rate_per_hour: int = Field(default=10, ge=1, description="Reports one reader may send an hour.")
    report_bot_max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1024, description="Largest file a reader may send (the Bot API serves 20 MB)."
    )
    report_bot_poll_seconds: int = Field(default=30, ge=0, le=50, description="Long polling of getUpdates, in seconds.")

    analysis_timeout_seconds: float = Field(
        default=600.0, gt=0, description="Longest face analysis of one file; longer is stopped and refused."
    )
    scan_rate_per_minute: int = Field(default=30, ge=1, description="POST /v1/scans per API key per minute.")
    closed_alert_crop_retention_days: float = Field(
        default=30.0,
        ge=0,
        description="Face crops (and face encodings) of alerts closed as false_match or dismissed are removed this "
        "long after closing.",
    )
    retention_check_seconds: float = Field(default=3600.0, gt=0, description="How often retention is applied.")

    console_session_hours: float = Field(default=12.0, gt=0, description="How long a console sign-in lasts.")
    console_secure_cookie: bool = Field(
        default=False, description="Send the console's cookies only over https (set it behind an https proxy)."
    )
    login_attempts_per_minute: int = Field(default=5, ge=1, description="Console sign-in attempts per email a minute.")
    console_time_zone: str = Field(default="Asia/Almaty", description="Time zone the console shows times in.")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'impwatch.db'}"


SETTING_GROUPS: tuple[tuple[str, str], ...] = (
    ("Service", "data_dir"),
    ("Precision", "default_tolerance"),
    ("Face detection", "face_detector"),
    ("Enrolment and limits", "min_face_pixels"),
    ("Videos", "video_sample_fps"),
    ("Media and face work", "max_media_bytes"),
    ("Scheduler", "scheduler_enabled"),
    ("Broker", "broker_url"),
    ("Watches", "default_watch_interval_seconds"),
    ("Telegram", "tme_base_url"),
    ("Text signals", "phone_region"),
    ("Webhooks", "public_base_url"),
    ("Notifications", "notification_retry_schedule_seconds"),
    ("Reporting bot", "report_bot_token"),
    ("Analysis, rate limits and retention", "analysis_timeout_seconds"),
    ("Web console", "console_session_hours"),
)
"""The settings' groups in the reference, each named with its first setting: a group runs, in the order of
declaration, up to the first setting of the next."""

SECRET_SETTINGS = frozenset(
    {"telegram_api_hash", "telegram_session", "smtp_password", "report_bot_token", "report_bot_hash_key"}
)
"""Settings whose default the reference never shows."""

REFERENCE_START = "<!-- settings:start -->"
REFERENCE_END = "<!-- settings:end -->"


def settings_reference() -> str:
    """Every setting as a row of a Markdown table, `| Variable | Default | What it does |`, in the order of
    declaration under a bold row for each group of `SETTING_GROUPS`."""
    starts = {first: title for title, first in SETTING_GROUPS}
    unknown = starts.keys() - Settings.model_fields.keys()
    if unknown:
        raise ValueError(f"SETTING_GROUPS names no setting {', '.join(sorted(unknown))}")
    lines = ["| Variable | Default | What it does |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        if name in starts:
            lines.append(f"| **{starts[name]}** | | |")
        default = "" if name in SECRET_SETTINGS else _readable_default(name, field.default)
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `IMPWATCH_{name.upper()}` | {default} | {description} |")
    return "\n".join(lines) + "\n"


def _readable_default(name: str, value: object) -> str:
    """The default as it is written in the environment, in backticks; None and empty values as nothing."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, Path):
        text = value.as_posix()
    elif isinstance(value, list):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    if name.endswith("_bytes") and isinstance(value, int) and value % 1024 == 0:
        return f"`{text}` ({_binary_size(value)})"
    return f"`{text}`"


def _binary_size(size: int) -> str:
    unit = "bytes"
    for bigger in ("KiB", "MiB", "GiB"):
        if size < 1024 or size % 1024:
            break
        size, unit = size // 1024, bigger
    return f"{size} {unit}"


def with_settings_reference(text: str) -> str:
    """`text` (the README) with `settings_reference()` between its markers in place of what was there."""
    start, end = text.find(REFERENCE_START), text.find(REFERENCE_END)
    if start < 0 or end < start:
        raise ValueError(f"no {REFERENCE_START} ... {REFERENCE_END} markers, in this order")
    head = text[: start + len(REFERENCE_START)]
    return f"{head}\n\n{settings_reference()}\n{text[end:]}"
