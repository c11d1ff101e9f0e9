"""The watches API over a real socket."""

import uuid

import httpx


def create(operator_api: httpx.Client, **source: str) -> httpx.Response:
    return operator_api.post("/v1/watches", json={"source": source, "interval_seconds": 60})


def test_watch_lifecycle(operator_api: httpx.Client, tmp_path) -> None:
    created = create(operator_api, kind="tme_preview", channel="https://t.me/s/Some_Channel")
    assert created.status_code == 201, created.text
    watch = created.json()
    assert (watch["kind"], watch["target"], watch["state"], watch["cursor"]) == (
        "tme_preview",
        "Some_Channel",
        "ok",
        None,
    )
    assert create(operator_api, kind="tme_preview", channel="@Some_Channel").status_code == 409
    assert create(operator_api, kind="folder", path=str(tmp_path)).status_code == 201
    assert len(operator_api.get("/v1/watches").json()) == 2

    paused = operator_api.patch(f"/v1/watches/{watch['id']}", json={"enabled": False})
    assert paused.json()["enabled"] is False
    run = operator_api.post(f"/v1/watches/{watch['id']}/run")
    assert run.status_code == 202 and run.json()["run_requested"] is True
    assert operator_api.delete(f"/v1/watches/{watch['id']}").status_code == 204
    assert operator_api.get(f"/v1/watches/{watch['id']}").status_code == 404


def test_invalid_watches_are_refused_with_a_reason(operator_api: httpx.Client) -> None:
    unknown_kind = create(operator_api, kind="rss", channel="x")
    assert unknown_kind.status_code == 422
    bad_channel = create(operator_api, kind="tme_preview", channel="t.me/+invite")
    assert bad_channel.status_code == 422 and "channel" in bad_channel.text
    too_fast = operator_api.post(
        "/v1/watches", json={"source": {"kind": "folder", "path": "/tmp"}, "interval_seconds": 1}
    )
    assert too_fast.status_code == 422 and too_fast.json()["code"] == "interval_too_short"
    assert operator_api.get("/v1/watches").json() == []
    assert operator_api.post(f"/v1/watches/{uuid.uuid4()}/run").status_code == 404


def test_a_watch_cannot_be_changed_to_run_more_often_than_the_minimum(operator_api: httpx.Client) -> None:
    watch = create(operator_api, kind="tme_preview", channel="some_channel").json()
    too_fast = operator_api.patch(f"/v1/watches/{watch['id']}", json={"interval_seconds": 29})
    assert too_fast.status_code == 422 and too_fast.json()["code"] == "interval_too_short"
    assert "at least 30" in too_fast.json()["detail"]
    assert operator_api.get(f"/v1/watches/{watch['id']}").json()["interval_seconds"] == 60
    at_minimum = operator_api.patch(f"/v1/watches/{watch['id']}", json={"interval_seconds": 30})
    assert at_minimum.status_code == 200 and at_minimum.json()["interval_seconds"] == 30
