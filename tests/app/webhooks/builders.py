"""Test data for webhooks: endpoints, people, and alerts raised through `app.alerts.service.record_detections` (the
watch pipeline's own hook) from stored rows made by hand, so no face work is needed."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app.alerts import service as alert_service
from app.alerts.models import Alert
from app.runtime import Runtime
from app.webhooks import service
from app.webhooks.jobs import WebhookDispatcher
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import EndpointCreate
from tests.factories import DEFAULT_ORGANIZATION, organization_id
from tests.support import wait_for
from watchers.models import Detection, MediaAnalysis, MediaItem, Post, Watch
from watchlist.models import Person

PUBLIC_BASE_URL = "https://impwatch.example.org"
FAST_RETRIES = [0.05, 0.05, 0.05, 0.05]
_message_ids = itertools.count(1)


def add_endpoint(
    runtime: Runtime, url: str, organization: str = DEFAULT_ORGANIZATION, **fields: object
) -> tuple[WebhookEndpoint, str]:
    """A committed endpoint of the organisation (the test organisation, which the people made here belong to,
    unless named) and its secret."""
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = EndpointCreate.model_validate({"url": url, **fields})
        owner = organization_id(runtime, organization)
        endpoint, secret = service.create_endpoint(session, owner, data, runtime.webhook_url_policy)
        session.commit()
        return endpoint, secret


def add_person(runtime: Runtime, name: str = "Barack Obama", organization: str = DEFAULT_ORGANIZATION) -> Person:
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        person = Person(
            display_name=name,
            aliases=["Барак Обама"],
            role_title="former president",
            organization_id=organization_id(runtime, organization),
        )
        session.add(person)
        session.commit()
        return person


def raise_alert(
    runtime: Runtime, person: Person, media: str = "deepfake-1", channel: str = "fake_news_kz", tier: str = "match"
) -> Alert:
    """A post on `channel` whose photo `media` (by content) shows `person`, handed to the alerts hook, committed."""
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        alerts = record_post(session, person, media, channel, tier)
        session.commit()
        return alerts[0]


def record_post(session: Session, person: Person, media: str, channel: str, tier: str = "match") -> list[Alert]:
    message_id = next(_message_ids)
    watch = Watch(kind="tme_preview", target=f"{channel}-{message_id}", config={})
    post = Post(
        watch_id=watch.id,
        channel=channel,
        message_id=message_id,
        permalink=f"https://t.me/{channel}/{message_id}",
        posted_at=datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=message_id),
        text="Sign the contract today!",
    )
    detection = _detection(session, hashlib.sha256(media.encode()).hexdigest(), person, tier)
    item = MediaItem(post_id=post.id, kind="photo", locator="photo-1", sha256=detection.sha256, status="done")
    for row in (watch, post, item):
        session.add(row)
        session.flush()
    failures = alert_service.record_detections(session, item, post, [detection], public_base_url=PUBLIC_BASE_URL)
    assert not failures, failures
    subject = select(Alert).where(Alert.person_id == person.id, Alert.subject_key == detection.sha256)
    return list(session.exec(subject))


def _detection(session: Session, sha256: str, person: Person, tier: str = "match") -> Detection:
    """What the face pipeline would have stored for this content: analysed once, whoever reposts it."""
    found = session.exec(select(Detection).where(Detection.sha256 == sha256, Detection.person_id == person.id)).first()
    if found is not None:
        return found
    session.add(MediaAnalysis(sha256=sha256, kind="photo", size=1000, width=640, height=480, faces_found=1))
    session.flush()
    detection = Detection(
        sha256=sha256,
        person_id=person.id,
        distance=0.31,
        tier=tier,
        box={"top": 10, "right": 90, "bottom": 90, "left": 10},
        crop_jpeg=b"\xff\xd8\xff crop",
    )
    session.add(detection)
    session.flush()
    return detection


def deliveries(runtime: Runtime) -> list[WebhookDelivery]:
    with Session(runtime.db_engine) as session:
        return list(session.exec(select(WebhookDelivery).order_by(WebhookDelivery.created_at)))


def dispatch_until(dispatcher: WebhookDispatcher, check: Callable[[], object], what: str, timeout: float = 15) -> None:
    """Run the dispatcher in a poll loop until `check` holds (never a fixed sleep)."""
    wait_for(lambda: dispatcher.run() >= 0 and check(), timeout=timeout, interval=0.02, what=what)
