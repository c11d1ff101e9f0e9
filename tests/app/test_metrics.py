"""/metrics, read with prometheus_client's own text parser, moves when a watch scans a channel."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from app.runtime import Runtime
from app.scheduling import build_watch_runner
from app.webhooks.jobs import WebhookDispatcher
from tests.app.webhooks.builders import FAST_RETRIES, add_endpoint, add_person, dispatch_until, raise_alert
from tests.app.webhooks.receiver import Receiver, Reply
from tests.factories import WATCH_INTERVALS, enrol_person
from tests.support import fixture_bytes
from tests.watchers.sources.tme_pages import ChannelServer
from watchers import service
from watchers.schemas import WatchCreate

pytestmark = pytest.mark.usefixtures("cached_faces")  # the face analysis is not under test here (tests/face_cache.py)


@pytest.fixture
def runtime(make_runtime, channels: ChannelServer) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url)


def samples(api: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(snapshot: dict, name: str, **labels: str) -> float:
    return snapshot.get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_move_after_a_watch_scans_a_channel(
    operator_api: httpx.Client, runtime: Runtime, channels: ChannelServer
):
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("metrics_channel")
    channels.add_post("metrics_channel", photo=fixture_bytes("two_people.jpg"))
    channels.add_post("metrics_channel", "a repost", photo=fixture_bytes("two_people.jpg"))
    channels.add_post("metrics_channel", video=fixture_bytes("short_hamilton_clip.mp4"))
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "metrics_channel"}})
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
    before = samples(operator_api)

    assert build_watch_runner(runtime).run(watch.id).error is None
    after = samples(operator_api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("impwatch_posts_scanned_total", source="tme_preview") == 3
    assert moved("impwatch_media_scanned_total", source="tme_preview", kind="photo", outcome="analysed") == 1
    assert moved("impwatch_media_scanned_total", source="tme_preview", kind="photo", outcome="cached") == 1
    assert moved("impwatch_media_scanned_total", source="tme_preview", kind="video", outcome="analysed") == 1
    assert moved("impwatch_faces_detected_total") >= 2 + 5
    assert moved("impwatch_matches_total") >= 1
    assert moved("impwatch_alerts_created_total", kind="face_match", tier="match") == 1
    assert moved("impwatch_scan_duration_seconds_count", kind="photo") == 1
    assert moved("impwatch_scan_duration_seconds_count", kind="video") == 1
    assert moved("impwatch_watch_runs_total", source="tme_preview", outcome="success") == 1
    last_success = value(
        after,
        "impwatch_watch_last_success_timestamp_seconds",
        watch_id=str(watch.id),
        source="tme_preview",
        target="metrics_channel",
    )
    assert last_success > 1.7e9
    assert moved("impwatch_http_requests_total", method="GET", route="/metrics", status="200") == 1


def test_failed_watch_runs_are_counted(operator_api: httpx.Client, runtime: Runtime) -> None:
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "missing_channel"}})
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
    before = value(samples(operator_api), "impwatch_watch_runs_total", source="tme_preview", outcome="failure")
    build_watch_runner(runtime).run(watch.id)
    after = value(samples(operator_api), "impwatch_watch_runs_total", source="tme_preview", outcome="failure")
    assert after - before == 1


def test_webhook_deliveries_by_outcome_and_the_outbox_backlog(operator_api: httpx.Client, runtime: Runtime) -> None:
    dispatcher = WebhookDispatcher(
        runtime.db_engine, httpx.Client(), retry_schedule=FAST_RETRIES, url_policy=runtime.webhook_url_policy
    )
    with Receiver() as receiver:
        receiver.script(Reply(500), Reply(200))
        add_endpoint(runtime, receiver.url)
        person = add_person(runtime)
        before = samples(operator_api)
        raise_alert(runtime, person)
        queued = samples(operator_api)

        dispatch_until(dispatcher, lambda: receiver.count() == 2, what="a failed attempt, then a delivered one")
        after = samples(operator_api)
    dispatcher.close()

    assert value(before, "impwatch_webhook_outbox_pending") == 0
    assert value(queued, "impwatch_webhook_outbox_pending") == 1
    assert value(queued, "impwatch_webhook_outbox_oldest_pending_age_seconds") >= 0
    assert value(after, "impwatch_webhook_outbox_pending") == 0
    for outcome, attempts in (("failed", 1), ("delivered", 1), ("dead", 0)):
        moved = value(after, "impwatch_webhook_deliveries_total", outcome=outcome) - value(
            before, "impwatch_webhook_deliveries_total", outcome=outcome
        )
        assert moved == attempts, outcome
    count = "impwatch_webhook_delivery_duration_seconds_count"
    assert value(after, count) - value(before, count) == 2
