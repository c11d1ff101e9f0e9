"""`impwatch serve` as a real process, SIGKILLed after an alert is committed and before its webhook is answered:
after the restart the receiver gets the event again, with the same `webhook-id`, so it can de-duplicate."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from app import db
from app.outbox.models import DeliveryStatus
from app.runtime import Runtime
from app.settings import Settings
from app.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.app.test_end_to_end import ServeProcess, service_env
from tests.app.webhooks.receiver import Receiver, Reply
from tests.factories import enrol_person
from tests.support import fixture_bytes, free_port, wait_for
from tests.watchers.sources.tme_pages import ChannelServer


def serve_env(data_dir: Path, channels: ChannelServer) -> dict[str, str]:
    """The end-to-end environment with face work in-process and a quick dispatcher sending to the local receiver;
    the uncalibrated `match` threshold is the former tolerance, so the one-photo Obama alert is pushed (a `possible`
    one would not be, see tests/conftest.py)."""
    return service_env(
        data_dir,
        channels,
        face_workers="0",
        default_match_threshold="0.5",
        public_base_url="https://impwatch.example.org",
        webhook_dispatch_seconds="0.2",
        webhook_timeout_seconds="3",
        webhook_allow_private_urls="true",
    )


def stored(runtime: Runtime) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    with Session(runtime.db_engine) as session:
        [delivery] = session.exec(select(WebhookDelivery)).all()
        attempts = session.exec(select(WebhookAttempt).order_by(WebhookAttempt.attempted_at)).all()
        return delivery, list(attempts)


def test_a_delivery_cut_short_by_a_kill_is_sent_after_the_restart(tmp_path: Path, channels: ChannelServer) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, face_workers=0)
    db.upgrade(settings.resolved_database_url)
    runtime = Runtime.from_settings(settings)
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("kz_news_fake")
    server = ServeProcess(serve_env(data_dir, channels), free_port(), tmp_path / "serve.log", runtime)
    with Receiver() as receiver:
        receiver.script(Reply(200, hold=True))
        try:
            server.start()
            secret = server.api.post("/v1/webhooks", json={"url": receiver.url}).json()["secret"]
            watch = {"source": {"kind": "tme_preview", "channel": "kz_news_fake"}, "interval_seconds": 1}
            assert server.operator_api.post("/v1/watches", json=watch).status_code == 201
            channels.add_post("kz_news_fake", "Sign a military contract!", photo=fixture_bytes("obama2.jpg"))

            wait_for(lambda: receiver.count() == 1, timeout=60, what="the first attempt, left unanswered")
            server.kill()
            receiver.release()
            delivery, [cut_short] = stored(runtime)
            assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0
            assert cut_short.duration_ms is None and cut_short.status_code is None, "on record, without an outcome"

            server.start()
            wait_for(lambda: receiver.count() == 2, timeout=60, what="the delivery after the restart")
            first, again = receiver.received
            assert again.webhook_id == first.webhook_id and again.body == first.body
            assert again.verify(secret)["type"] == "alert.created" and first.verify(secret)
            wait_for(lambda: stored(runtime)[0].status == DeliveryStatus.DELIVERED, what="the delivery recorded")
            assert [attempt.status_code for attempt in stored(runtime)[1]] == [None, 200]
            assert server.api.get("/v1/alerts").json()["items"][0]["occurrences_count"] == 1
        finally:
            server.stop()
            runtime.close()
