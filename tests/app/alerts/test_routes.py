"""The alerts API over a real socket: filters, cursor pages, evidence, the crop, triage."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from app.main import create_app
from app.runtime import Runtime
from app.scheduling import build_watch_runner
from tests.factories import WATCH_INTERVALS, api_key, bearer, enrol_person
from tests.media_copies import write_copy
from tests.support import FIXTURES, fixture_bytes, running_server
from tests.watchers.sources.tme_pages import ChannelServer
from watchers import service
from watchers.schemas import WatchCreate

pytestmark = pytest.mark.usefixtures("cached_faces")  # the face analysis is not under test here (tests/face_cache.py)


@pytest.fixture
def runtime(make_runtime, channels: ChannelServer) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url)


@pytest.fixture
def watched(runtime: Runtime, channels: ChannelServer) -> dict[str, object]:
    """Obama in three different photos and Biden in one, posted on one watched channel, and the watch run."""
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    biden = enrol_person(runtime, "Joe Biden", "biden.jpg")
    channels.add_channel("fake_news_kz")
    for name in ("obama2.jpg", "obama4.jpg", "obama-480p.jpg", "biden2.jpg"):
        channels.add_post("fake_news_kz", f"post with {name}", photo=fixture_bytes(name))
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "fake_news_kz"}})
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
    assert build_watch_runner(runtime).run(watch.id).error is None
    return {"obama": obama.id, "biden": biden.id, "watch": watch.id}


def test_filters_and_cursor_pages(api: httpx.Client, watched: dict[str, object]) -> None:
    everything = api.get("/v1/alerts").json()
    assert len(everything["items"]) == 4 and everything["next_cursor"] is None
    assert [
        a["person_name"] for a in api.get("/v1/alerts", params={"person_id": str(watched["biden"])}).json()["items"]
    ] == ["Joe Biden"]
    assert len(api.get("/v1/alerts", params={"watch_id": str(watched["watch"])}).json()["items"]) == 4
    assert api.get("/v1/alerts", params={"watch_id": str(uuid.uuid4())}).json()["items"] == []
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert api.get("/v1/alerts", params={"since": future}).json()["items"] == []

    seen, cursor = [], None
    while True:
        page = api.get("/v1/alerts", params={"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4
    assert seen == [a["id"] for a in everything["items"]]


def test_alert_evidence_and_crop(api: httpx.Client, watched: dict[str, object]) -> None:
    [alert] = api.get("/v1/alerts", params={"person_id": str(watched["biden"])}).json()["items"]
    detail = api.get(f"/v1/alerts/{alert['id']}").json()
    assert detail["evidence"]["media_kind"] == "photo" and len(detail["evidence"]["sha256"]) == 64
    [occurrence] = detail["occurrences"]
    assert occurrence["permalink"] == "https://t.me/fake_news_kz/4"
    assert occurrence["post_text"] == "post with biden2.jpg"
    assert detail["evidence"]["reference_face_id"] and detail["evidence"]["box"]["right"] > 0
    crop = api.get(detail["evidence"]["crop_url"])
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"


def test_triage(api: httpx.Client, watched: dict[str, object]) -> None:
    alert = api.get("/v1/alerts").json()["items"][0]
    updated = api.patch(f"/v1/alerts/{alert['id']}", json={"status": "confirmed_impersonation", "note": "deepfake"})
    assert updated.status_code == 200
    assert (updated.json()["status"], updated.json()["note"]) == ("confirmed_impersonation", "deepfake")
    confirmed = api.get("/v1/alerts", params={"status": "confirmed_impersonation"}).json()["items"]
    assert [a["id"] for a in confirmed] == [alert["id"]]
    assert len(api.get("/v1/alerts", params=[("status", "new"), ("status", "dismissed")]).json()["items"]) == 3
    assert api.patch(f"/v1/alerts/{alert['id']}", json={"status": "maybe"}).status_code == 422


def test_bad_ids_and_cursors(api: httpx.Client, watched: dict[str, object]) -> None:
    missing = uuid.uuid4()
    assert api.get(f"/v1/alerts/{missing}").status_code == 404
    assert api.get(f"/v1/alerts/{missing}/crop.jpg").status_code == 404
    assert api.patch(f"/v1/alerts/{missing}", json={"status": "dismissed"}).status_code == 404
    bad = api.get("/v1/alerts", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_cursor"


def test_alerts_carry_a_tier_and_are_filtered_by_it(make_runtime, channels: ChannelServer) -> None:
    """With the installation's own defaults (no tolerance override of the tests), a person enrolled from one photo
    and not yet calibrated: the faces nearest their reference are `match`, the looser ones `possible`."""
    runtime = make_runtime(tme_base_url=channels.base_url, default_match_threshold=0.32)
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg", "obama2.jpg")
    channels.add_channel("fake_tiers")
    for name in ("obama4.jpg", "obama-480p.jpg", "obama_small.jpg"):
        channels.add_post("fake_tiers", f"post with {name}", photo=fixture_bytes(name))
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "fake_tiers"}})
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
    assert build_watch_runner(runtime).run(watch.id).error is None
    with (
        running_server(create_app(runtime)) as base_url,
        httpx.Client(base_url=base_url, headers=bearer(api_key(runtime, "org_admin")), timeout=30) as api,
    ):
        everything = api.get("/v1/alerts").json()["items"]
        assert len(everything) == 3 and {a["person_id"] for a in everything} == {str(obama.id)}
        by_tier = {
            tier: [a["id"] for a in api.get("/v1/alerts", params={"tier": tier}).json()["items"]]
            for tier in ("match", "possible")
        }
        assert sorted(by_tier["match"] + by_tier["possible"]) == sorted(a["id"] for a in everything)
        for alert in everything:
            assert alert["priority"] == ("high" if alert["tier"] == "match" else "normal")
            if alert["tier"] == "possible":
                assert alert["evidence"]["best_distance"] > 0.32
        assert api.get("/v1/alerts", params={"tier": "maybe"}).status_code == 422
        assert len(by_tier["match"]) == 2 and len(by_tier["possible"]) == 1


def test_a_face_alert_shows_the_copies_of_its_media(
    api: httpx.Client, runtime: Runtime, channels: ChannelServer, tmp_path: Path
) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    original = fixture_bytes("obama2.jpg")
    recompressed = write_copy(FIXTURES / "obama2.jpg", "jpeg_q60", tmp_path / "q60.jpg").read_bytes()
    cropped = write_copy(FIXTURES / "obama2.jpg", "cropped_5", tmp_path / "cropped.jpg").read_bytes()
    watch_ids = []
    for channel, photos in (("fake_news_kz", [original, recompressed]), ("daily_leaks", [cropped, original])):
        channels.add_channel(channel)
        for photo in photos:
            channels.add_post(channel, "the minister says", photo=photo)
        with Session(runtime.db_engine, expire_on_commit=False) as session:
            data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": channel}})
            watch_ids.append(service.create_watch(session, data, WATCH_INTERVALS).id)
            session.commit()
    runner = build_watch_runner(runtime)
    assert all(runner.run(watch_id).error is None for watch_id in watch_ids)

    [alert] = api.get("/v1/alerts").json()["items"]
    detail = api.get(f"/v1/alerts/{alert['id']}").json()
    cluster = detail["cluster"]
    assert detail["occurrences_count"] == 4 and cluster["copies"] == 3
    assert cluster["key"] == alert["subject_key"] and alert["subject_key"] in cluster["sha256s"]
    assert sorted(cluster["channels"]) == ["daily_leaks", "fake_news_kz"]
    assert cluster["first_seen_at"] <= cluster["last_seen_at"]
