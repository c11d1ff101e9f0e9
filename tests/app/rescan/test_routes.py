"""Re-scan: a person enrolled today is found in last week's kept media, in the background, with progress that is
kept in the database (read by another process, after a restart, and erased with the person)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from app.alerts.models import Alert
from app.main import create_app
from app.privacy import erase_person
from app.rescan import service
from app.rescan.models import Rescan
from app.runtime import Runtime
from core.clock import utcnow
from core.scope import INSTALLATION
from tests.app.test_privacy import run_watch_on_post
from tests.factories import api_key, bearer, enrol_person
from tests.impwatch import run
from tests.support import running_server, wait_for
from tests.watchers.sources.tme_pages import ChannelServer


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], channels: ChannelServer) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url, keep_media=True)


def alerts(runtime: Runtime) -> list[tuple[object, str]]:
    with Session(runtime.db_engine) as session:
        return [(alert.person_id, alert.kind) for alert in session.exec(select(Alert))]


def test_a_person_enrolled_later_is_found_in_kept_media(runtime: Runtime, channels: ChannelServer) -> None:
    run_watch_on_post(runtime, channels, "fake_last_week", "obama4.jpg")
    assert alerts(runtime) == [], "nobody was enrolled yet"
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")

    with (
        running_server(create_app(runtime)) as base_url,
        httpx.Client(base_url=base_url, headers=bearer(api_key(runtime, "org_admin")), timeout=30) as api,
    ):
        assert api.post("/v1/rescans", json={}).json()["code"] == "person_required"
        started = api.post("/v1/rescans", json={"person_id": str(obama.id)})
        assert started.status_code == 202, started.text
        rescan_id = started.json()["id"]
        done = wait_for(
            lambda: (body := api.get(f"/v1/rescans/{rescan_id}").json())["state"] != "running" and body,
            timeout=60,
            what="the re-scan to finish",
        )
        assert (done["state"], done["total"], done["done"], done["detections_added"]) == ("finished", 1, 1, 1)
        assert alerts(runtime) == [(obama.id, "face_match")]

        again = api.post("/v1/rescans", json={"person_id": str(obama.id)}).json()
        wait_for(lambda: api.get(f"/v1/rescans/{again['id']}").json()["state"] == "finished", timeout=60)
        assert api.get(f"/v1/rescans/{again['id']}").json()["detections_added"] == 0, "found once"
        assert len(alerts(runtime)) == 1


def test_rescan_from_the_cli_reports_progress(tmp_path) -> None:
    result = run(tmp_path, "rescan", "--since", "2026-01-01T00:00:00")
    assert result.returncode == 0, result.stderr
    assert re.search(r"re-scan [0-9a-f-]{36}: 0 contents", result.stdout), result.stdout
    assert run(tmp_path, "rescan", "--since", "last week").returncode == 2
    assert run(tmp_path, "rescan", "--person", "00000000-0000-0000-0000-000000000000").returncode == 1


def test_progress_outlives_the_process_and_a_stopped_rescan_reads_as_interrupted(
    make_runtime: Callable[..., Runtime], channels: ChannelServer
) -> None:
    runtime = make_runtime(tme_base_url=channels.base_url, keep_media=True, rescan_stale_seconds=60)
    run_watch_on_post(runtime, channels, "fake_last_week", "obama4.jpg")
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    with running_server(create_app(runtime)) as base_url, admin_api(runtime, base_url) as api:
        rescan_id = api.post("/v1/rescans", json={"person_id": str(obama.id)}).json()["id"]
        wait_for(lambda: api.get(f"/v1/rescans/{rescan_id}").json()["state"] == "finished", timeout=60)
    with Session(runtime.db_engine) as session:  # a re-scan whose process was killed after one content
        stopped = service.start_rescan(session, obama.id, None)
        stopped.total, stopped.done, stopped.updated_at = 5, 1, utcnow() - timedelta(minutes=5)
        session.commit()
        stopped_id = stopped.id

    with running_server(create_app(runtime)) as base_url, admin_api(runtime, base_url) as api:  # after a restart
        finished = api.get(f"/v1/rescans/{rescan_id}").json()
        interrupted = api.get(f"/v1/rescans/{stopped_id}").json()
    assert (finished["state"], finished["done"], finished["detections_added"]) == ("finished", 1, 1)
    assert (interrupted["state"], interrupted["done"], interrupted["total"]) == ("interrupted", 1, 5)


def test_a_persons_rescans_are_erased_with_them(runtime: Runtime) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    with Session(runtime.db_engine) as session:
        service.start_rescan(session, obama.id, None)
        session.commit()
    with Session(runtime.db_engine) as session:
        erase_person(session, session.get_one(type(obama), obama.id), INSTALLATION, runtime.media_store)
        session.commit()
    with Session(runtime.db_engine) as session:
        assert session.exec(select(Rescan)).all() == []


def admin_api(runtime: Runtime, base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers=bearer(api_key(runtime, "org_admin")), timeout=30)
