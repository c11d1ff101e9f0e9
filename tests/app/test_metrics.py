"""/metrics, read with prometheus_client's own text parser, moves when a watch scans a channel."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from app.jobs import build_watch_runner
from app.main import create_app
from app.runtime import Runtime
from tests.factories import enrol_person
from tests.support import fixture_bytes, running_server
from tests.watchers.sources.tme_pages import ChannelServer
from watchers import service
from watchers.schemas import WatchCreate


@pytest.fixture
def channels() -> Iterator[ChannelServer]:
    with ChannelServer() as server:
        yield server


@pytest.fixture
def runtime(make_runtime, channels: ChannelServer) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url)


@pytest.fixture
def api(runtime: Runtime) -> Iterator[httpx.Client]:
    with running_server(create_app(runtime)) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


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


def test_counters_move_after_a_watch_scans_a_channel(api: httpx.Client, runtime: Runtime, channels: ChannelServer):
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("metrics_channel")
    channels.add_post("metrics_channel", photo=fixture_bytes("two_people.jpg"))
    channels.add_post("metrics_channel", "a repost", photo=fixture_bytes("two_people.jpg"))
    channels.add_post("metrics_channel", video=fixture_bytes("short_hamilton_clip.mp4"))
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "metrics_channel"}})
        watch = service.create_watch(session, data, 60)
        session.commit()
    before = samples(api)

    assert build_watch_runner(runtime).run(watch.id).error is None
    after = samples(api)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("impwatch_posts_scanned_total", source="tme_preview") == 3
    assert moved("impwatch_media_scanned_total", source="tme_preview", kind="photo", outcome="analysed") == 1
    assert moved("impwatch_media_scanned_total", source="tme_preview", kind="photo", outcome="cached") == 1
    assert moved("impwatch_media_scanned_total", source="tme_preview", kind="video", outcome="analysed") == 1
    assert moved("impwatch_faces_detected_total") >= 2 + 5
    assert moved("impwatch_matches_total") >= 1
    assert moved("impwatch_alerts_created_total", kind="face_match") == 1
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


def test_failed_watch_runs_are_counted(api: httpx.Client, runtime: Runtime) -> None:
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "missing_channel"}})
        watch = service.create_watch(session, data, 60)
        session.commit()
    before = value(samples(api), "impwatch_watch_runs_total", source="tme_preview", outcome="failure")
    build_watch_runner(runtime).run(watch.id)
    after = value(samples(api), "impwatch_watch_runs_total", source="tme_preview", outcome="failure")
    assert after - before == 1
