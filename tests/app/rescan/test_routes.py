"""Re-scan: a person enrolled today is found in last week's kept media, in the background, with progress."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlmodel import Session, select

from app.alerts.models import Alert
from app.main import create_app
from app.runtime import Runtime
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
    assert "re-scanned 0 contents" in result.stdout
    assert run(tmp_path, "rescan", "--since", "last week").returncode == 2
    assert run(tmp_path, "rescan", "--person", "00000000-0000-0000-0000-000000000000").returncode == 1
