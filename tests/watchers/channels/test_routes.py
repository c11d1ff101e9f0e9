"""Candidate channels from the posts of real watch runs (a local t.me preview server), listed and watched."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from app.runtime import Runtime
from app.scheduling import build_watch_runner
from app.settings import Settings
from tests.conftest import make_settings
from tests.factories import WATCH_INTERVALS, enrol_person
from tests.support import fixture_bytes
from tests.watchers.sources.tme_pages import ChannelServer
from watchers import service
from watchers.models import Watch
from watchers.schemas import WatchCreate


@pytest.fixture
def settings(tmp_path: Path, database_url: str, channels: ChannelServer) -> Settings:
    return make_settings(tmp_path, database_url, face_workers=0, tme_base_url=channels.base_url)


def add_watch(runtime: Runtime, channel: str) -> Watch:
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": channel}})
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
        return watch


def test_candidate_channels_come_from_forwards_links_and_mentions_and_one_call_watches_one(
    runtime: Runtime, channels: ChannelServer, operator_api: httpx.Client
) -> None:
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("kz_news_fake")
    channels.add_post(
        "kz_news_fake",
        "Sign the contract today!",
        photo=fixture_bytes("obama2.jpg"),
        forwarded_from="Министерство обороны",
        forwarded_from_url="https://t.me/mod_kz_official/812",
    )
    channels.add_post(
        "kz_news_fake",
        "Полное видео: t.me/mod_kz_official/813",
        forwarded_from="Министерство обороны",
        forwarded_from_url="https://t.me/mod_kz_official/813",
    )
    channels.add_post("kz_news_fake", "Подписывайтесь на @march_organisers")
    channels.add_channel("second_fake")
    channels.add_post("second_fake", "Repost", forwarded_from="Forwarded by a person")
    runner = build_watch_runner(runtime)
    for watch in (add_watch(runtime, "kz_news_fake"), add_watch(runtime, "second_fake")):
        assert runner.run(watch.id).error is None

    listed = operator_api.get("/v1/channels/candidates")

    assert listed.status_code == 200, listed.text
    rows = {row["username"] or row["name"]: row for row in listed.json()}
    source = rows["mod_kz_official"]
    assert (source["posts_count"], source["forwards_count"], source["links_count"], source["alerts_count"]) == (
        2,
        2,
        0,
        1,
    )
    assert source["name"] == "Министерство обороны" and source["first_seen_at"] < source["last_seen_at"]
    assert (rows["march_organisers"]["mentions_count"], rows["march_organisers"]["alerts_count"]) == (1, 0)
    assert rows["Forwarded by a person"]["username"] is None
    assert listed.json()[0]["username"] == "mod_kz_official", "a candidate involved in alerts comes first"

    watched = operator_api.post(f"/v1/channels/candidates/{source['id']}/watch", json={"since": "2024-01-01T00:00:00Z"})
    assert watched.status_code == 201, watched.text
    assert (watched.json()["kind"], watched.json()["target"], watched.json()["since"]) == (
        "tme_preview",
        "mod_kz_official",
        "2024-01-01T00:00:00Z",
    )
    assert "mod_kz_official" not in {row["username"] for row in operator_api.get("/v1/channels/candidates").json()}
    by_name = operator_api.post("/v1/channels/candidates/@march_organisers/watch")
    assert by_name.status_code == 201 and by_name.json()["target"] == "march_organisers"
    nameless = operator_api.post(f"/v1/channels/candidates/{rows['Forwarded by a person']['id']}/watch")
    assert nameless.status_code == 422 and nameless.json()["code"] == "candidate_has_no_username"
    assert operator_api.post("/v1/channels/candidates/nobody_here/watch").status_code == 404
