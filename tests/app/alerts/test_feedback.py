"""Feedback that sticks, and strangers' faces kept as counts only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from app.alerts import service as alert_service
from app.alerts.models import Alert
from app.alerts.schemas import AlertUpdate
from app.jobs import build_retention_job
from app.main import create_app
from app.runtime import Runtime
from core.clock import utcnow
from tests.app.test_privacy import found_in_storage, run_watch_on_post
from tests.factories import api_key, bearer, enrol_person
from tests.support import fixture_bytes, running_server
from tests.watchers.sources.tme_pages import ChannelServer
from watchlist.images import decode_image
from watchlist.models import FaceCalibration, NegativeFace
from watchlist.service import encoding_to_bytes


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], channels: ChannelServer) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url, keep_media=True)


def alerts_of(runtime: Runtime) -> list[Alert]:
    with Session(runtime.db_engine) as session:
        return list(session.exec(select(Alert).order_by(Alert.created_at)))


def test_a_stranger_marked_false_match_does_not_alert_again(runtime: Runtime, channels: ChannelServer) -> None:
    """Biden, enrolled with a loose tolerance, is matched by Obama's face; once that alert is triaged as a false
    match, another photo of Obama is at most `possible`."""
    biden = enrol_person(runtime, "Joe Biden", "biden.jpg", tolerance=0.95)
    run_watch_on_post(runtime, channels, "fake_one", "obama.jpg")
    [first] = alerts_of(runtime)
    assert (first.person_id, first.tier) == (biden.id, "match")

    with Session(runtime.db_engine) as session:
        alert = alert_service.get_alert(session, first.id)
        alert_service.triage(session, alert, AlertUpdate(status="false_match"), public_base_url="http://x")
        session.commit()
        [negative] = session.exec(select(NegativeFace)).all()
        assert negative.person_id == biden.id and negative.alert_id == first.id

    run_watch_on_post(runtime, channels, "fake_two", "obama2.jpg")
    second = [alert for alert in alerts_of(runtime) if alert.id != first.id]
    assert [(alert.person_id, alert.tier, alert.priority) for alert in second] == [(biden.id, "possible", "normal")]

    with (
        running_server(create_app(runtime)) as base_url,
        httpx.Client(base_url=base_url, headers=bearer(api_key(runtime, "org_admin")), timeout=30) as api,
    ):
        [listed] = api.get(f"/v1/persons/{biden.id}/negatives").json()
        assert listed["alert_id"] == str(first.id) and set(listed) == {
            "id",
            "alert_id",
            "distance",
            "created_at",
            "expires_at",
        }, "listed without an image or an encoding"
        erased = api.delete(f"/v1/persons/{biden.id}").json()
        assert erased["negative_faces"] == 1
    with Session(runtime.db_engine) as session:
        assert session.exec(select(NegativeFace)).all() == []


def test_negatives_expire_after_the_retention_period(runtime: Runtime, channels: ChannelServer) -> None:
    biden = enrol_person(runtime, "Joe Biden", "biden.jpg", tolerance=0.95)
    run_watch_on_post(runtime, channels, "fake_one", "obama.jpg")
    [alert] = alerts_of(runtime)
    with Session(runtime.db_engine) as session:
        triaged = alert_service.get_alert(session, alert.id)
        alert_service.triage(session, triaged, AlertUpdate(status="false_match"), public_base_url="http://x")
        session.commit()
    retention = build_retention_job(runtime, clock=lambda: utcnow() + timedelta(days=179))
    retention()
    with Session(runtime.db_engine) as session:
        assert [n.person_id for n in session.exec(select(NegativeFace))] == [biden.id]
    build_retention_job(runtime, clock=lambda: utcnow() + timedelta(days=181))()
    with Session(runtime.db_engine) as session:
        assert session.exec(select(NegativeFace)).all() == []


def test_no_encoding_of_an_unassigned_face_is_stored(runtime: Runtime, channels: ChannelServer, tmp_path: Path) -> None:
    """Only Obama is enrolled; Biden's face in the same photo is counted into Obama's calibration as a distance and
    is stored nowhere: not in any table, not in any file under the data folder."""
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    rgb = decode_image(fixture_bytes("two_people.jpg"), 50_000_000)
    faces = runtime.face_engine.find_faces(rgb)
    assert len(faces) == 2

    run_watch_on_post(runtime, channels, "fake_kz_news", "two_people.jpg")

    [alert] = alerts_of(runtime)
    assert alert.person_id == obama.id
    needles = {f"face {index}": encoding_to_bytes(face.encoding)[200:264] for index, face in enumerate(faces)}
    assert len(found_in_storage(runtime, tmp_path, needles)) == 1, "the matched face's encoding is kept (search works)"
    with Session(runtime.db_engine) as session:
        calibration = session.get(FaceCalibration, obama.id)
        assert calibration is not None and calibration.faces == 1, "the other face is a count"
