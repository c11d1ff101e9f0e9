"""The scans and watches API (`watchers.routes`) over a real socket."""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

from app.main import create_app
from app.runtime import Runtime
from tests.factories import (
    MEDIA_SAMPLES,
    animation_bytes,
    api_key,
    audio_only_file,
    bearer,
    clip_in_container,
    fixture_rgb,
    media_sample,
    pixel_bomb_video,
    truncated_jpeg,
)
from tests.support import fixture_bytes, running_server
from tests.watchlist.test_routes import create, upload_face
from watchers.sources.base import SourceContext
from watchers.sources.folder import FolderConfig, FolderSource


def scan(api: httpx.Client, data: bytes, name: str) -> httpx.Response:
    return api.post("/v1/scans", files={"file": (name, data)})


def test_scan_photo_finds_enrolled_people(api: httpx.Client) -> None:
    obama = create(api, "Barack Obama")
    biden = create(api, "Joe Biden")
    assert upload_face(api, obama["id"], fixture_bytes("obama.jpg")).status_code == 201
    assert upload_face(api, biden["id"], fixture_bytes("biden.jpg")).status_code == 201
    response = scan(api, fixture_bytes("obama_and_biden.jpg"), "group.jpg")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["kind"] == "photo"
    assert len(result["faces"]) == 3
    assert {p["display_name"] for p in result["persons"]} == {"Barack Obama", "Joe Biden"}
    assert all(p["best_distance"] <= 0.5 for p in result["persons"])
    assert {p["tier"] for p in result["persons"]} <= {"match", "possible"}
    named = [m for face in result["faces"] for m in face["matches"]]
    assert len(named) == 2 and all(m["tier"] in {"match", "possible"} for m in named), "one person per face"


def test_scan_video_reports_timestamps(api: httpx.Client) -> None:
    lmm = create(api, "Lin-Manuel Miranda")
    assert upload_face(api, lmm["id"], fixture_bytes("lmm1.png"), name="lmm1.png").status_code == 201
    response = scan(api, fixture_bytes("short_hamilton_clip.mp4"), "clip.jpg")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["kind"] == "video"
    assert 9 <= result["frames_scanned"] <= 11
    [found] = result["persons"]
    assert found["display_name"] == "Lin-Manuel Miranda"
    assert found["frames_matched"] >= 2
    assert found["tier"] == "match" and len(found["track_timestamps"]) >= 2, "one track agrees over frames"
    assert all(0 <= t <= 8.1 for t in found["timestamps"]), "seconds from the video's first frame, 0.852 s in"


def test_bad_scan_inputs_are_refused(api: httpx.Client, tmp_path) -> None:
    audio = audio_only_file(tmp_path / "voice.mp4").read_bytes()
    cases = {
        "empty_file": b"",
        "corrupt_image": truncated_jpeg(),
        "no_video_stream": audio,
        "unsupported_media": b"not a photo, not a video" * 10,
    }
    for code, data in cases.items():
        response = scan(api, data, "upload.jpg")
        assert response.status_code == 422, (code, response.text)
        assert response.json()["code"] == code


def test_only_allowed_containers_are_opened_whatever_the_name(api: httpx.Client, tmp_path: Path) -> None:
    for container, codec in (("matroska", "mpeg4"), ("avi", "mpeg4")):
        opened = scan(api, clip_in_container(tmp_path / f"c.{container}", container, codec).read_bytes(), "x.jpg")
        assert opened.status_code == 200 and opened.json()["kind"] == "video", opened.text
    for container, codec in (("flv", "flv"), ("mpegts", "mpeg2video")):
        refused = scan(api, clip_in_container(tmp_path / f"c.{container}", container, codec).read_bytes(), "x.mp4")
        assert refused.status_code == 422 and refused.json()["code"] == "unsupported_media", refused.text
        assert "MP4" in refused.json()["detail"]


@contextmanager
def served(runtime: Runtime, role: str = "org_member") -> Iterator[httpx.Client]:
    """The app of `runtime` on a real socket, and a client with a new key of `role`."""
    with (
        running_server(create_app(runtime)) as base_url,
        httpx.Client(base_url=base_url, headers=bearer(api_key(runtime, role)), timeout=60) as api,
    ):
        yield api


def test_an_analysis_over_the_time_limit_is_stopped(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(analysis_timeout_seconds=0.5, video_sample_fps=4.0)
    with served(runtime) as api:
        stopped = scan(api, fixture_bytes("short_hamilton_clip.mp4"), "clip.mp4")
        assert stopped.status_code == 422 and stopped.json()["code"] == "analysis_timeout", stopped.text
        assert "0.5 s" in stopped.json()["detail"]
        runtime.workers.time_limit_seconds = 600  # a photo is held to the limit too; obama.jpg takes about 0.5 s
        assert scan(api, fixture_bytes("obama.jpg"), "obama.jpg").status_code == 200, "the next scan is served"


def test_a_photo_analysis_over_the_time_limit_is_stopped(make_runtime: Callable[..., Runtime]) -> None:
    """A limit of a microsecond, on the real clock: decoding and detecting alone take longer."""
    with served(make_runtime(analysis_timeout_seconds=1e-6)) as api:
        stopped = scan(api, fixture_bytes("obama.jpg"), "obama.jpg")
    assert stopped.status_code == 422 and stopped.json()["code"] == "analysis_timeout", stopped.text


def test_faces_per_image_are_capped_by_the_setting(make_runtime: Callable[..., Runtime]) -> None:
    with served(make_runtime(max_faces_per_image=1)) as api:
        result = scan(api, fixture_bytes("obama_and_biden.jpg"), "group.jpg").json()
    assert (len(result["faces"]), result["truncated"]) == (1, True), result


def test_a_video_whose_frames_are_over_the_pixel_limit_is_refused(
    make_runtime: Callable[..., Runtime], tmp_path: Path
) -> None:
    """2000x2000 frames in a few kilobytes, under a limit of a million pixels: refused before a frame is decoded."""
    bomb = pixel_bomb_video(tmp_path / "bomb.mov", 2000).read_bytes()
    with served(make_runtime(max_image_pixels=1_000_000)) as api:
        refused = scan(api, bomb, "bomb.mov")
        assert refused.status_code == 422 and refused.json()["code"] == "video_frame_too_large", refused.text
        assert scan(api, fixture_bytes("short_hamilton_clip.mp4"), "clip.mp4").status_code == 200, "640x360 fits"


def test_scan_animation_finds_a_face_after_the_first_frame(api: httpx.Client) -> None:
    obama = create(api, "Barack Obama")
    assert upload_face(api, obama["id"], fixture_bytes("obama2.jpg")).status_code == 201
    face = fixture_rgb("obama.jpg", 0.5)
    gif = animation_bytes("GIF", [np.full_like(face, 150), face], duration_ms=1000)

    response = scan(api, gif, "loop.gif")

    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["kind"], result["frames_scanned"]) == ("animation", 2)
    [found] = result["persons"]
    assert (found["display_name"], found["timestamps"], found["frames_matched"]) == ("Barack Obama", [1.0], 1)


def test_upload_over_the_size_cap_is_413(api: httpx.Client, runtime) -> None:
    """A file just over the cap is refused as an upload; a body far over it is refused before it is read."""
    photo = fixture_bytes("obama.jpg")
    runtime.settings.max_upload_bytes = len(photo) - 100
    response = scan(api, photo, "big.jpg")
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    runtime.settings.max_upload_bytes = 10_000
    far_over = scan(api, photo, "big.jpg")
    assert far_over.status_code == 413 and far_over.json()["code"] == "body_too_large"
    assert not any((runtime.settings.data_dir / "tmp").iterdir())


def test_a_scan_and_a_folder_watch_agree_on_every_format(api: httpx.Client, tmp_path: Path) -> None:
    """The same bytes are the same media to both (BMP and TIFF used to be scanned but ignored by a folder watch)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    samples = {name: media_sample(name, tmp_path) for name in MEDIA_SAMPLES}
    samples["avif"] = bytes.fromhex("00000018") + b"ftypavif" + bytes(12)
    samples["text"] = b"not a photo, not a video" * 10
    for name, data in samples.items():
        (inbox / f"{name}.bin").write_bytes(data)
    source = FolderSource(
        FolderConfig(path=str(inbox), settle_seconds=0), SourceContext(), clock=lambda: time.time() + 60
    )

    watched = {post.media[0].locator.removesuffix(".bin"): post.media[0] for post in source.fetch(None, 100)}
    scanned = {name: scan(api, data, "upload.jpg") for name, data in samples.items()}

    assert set(watched) == set(MEDIA_SAMPLES)
    for name, (kind, mime_type) in MEDIA_SAMPLES.items():
        assert scanned[name].status_code == 200, (name, scanned[name].text)
        assert scanned[name].json()["kind"] == kind == watched[name].kind, name
        assert watched[name].mime_type == mime_type, name
    for name in ("avif", "text"):
        assert scanned[name].status_code == 422 and scanned[name].json()["code"] == "unsupported_media", name


def create_watch(operator_api: httpx.Client, **source: str) -> httpx.Response:
    return operator_api.post("/v1/watches", json={"source": source, "interval_seconds": 60})


def test_watch_lifecycle(operator_api: httpx.Client, tmp_path) -> None:
    created = create_watch(operator_api, kind="tme_preview", channel="https://t.me/s/Some_Channel")
    assert created.status_code == 201, created.text
    watch = created.json()
    assert (watch["kind"], watch["target"], watch["state"], watch["cursor"]) == (
        "tme_preview",
        "Some_Channel",
        "ok",
        None,
    )
    assert create_watch(operator_api, kind="tme_preview", channel="@Some_Channel").status_code == 409
    assert create_watch(operator_api, kind="folder", path=str(tmp_path)).status_code == 201
    assert len(operator_api.get("/v1/watches").json()) == 2

    paused = operator_api.patch(f"/v1/watches/{watch['id']}", json={"enabled": False})
    assert paused.json()["enabled"] is False
    run = operator_api.post(f"/v1/watches/{watch['id']}/run")
    assert run.status_code == 202 and run.json()["run_requested"] is True
    assert operator_api.delete(f"/v1/watches/{watch['id']}").status_code == 204
    assert operator_api.get(f"/v1/watches/{watch['id']}").status_code == 404


def test_invalid_watches_are_refused_with_a_reason(operator_api: httpx.Client) -> None:
    unknown_kind = create_watch(operator_api, kind="rss", channel="x")
    assert unknown_kind.status_code == 422
    bad_channel = create_watch(operator_api, kind="tme_preview", channel="t.me/+invite")
    assert bad_channel.status_code == 422 and "channel" in bad_channel.text
    too_fast = operator_api.post(
        "/v1/watches", json={"source": {"kind": "folder", "path": "/tmp"}, "interval_seconds": 1}
    )
    assert too_fast.status_code == 422 and too_fast.json()["code"] == "interval_too_short"
    assert operator_api.get("/v1/watches").json() == []
    assert operator_api.post(f"/v1/watches/{uuid.uuid4()}/run").status_code == 404


def test_a_typo_in_a_source_key_is_refused_for_every_kind(operator_api: httpx.Client, tmp_path) -> None:
    typos = {
        "telegram": {"channel": "press_office", "chanel": "press_office"},
        "tme_preview": {"channel": "press_office", "chanel": "press_office"},
        "telegram_export": {"path": str(tmp_path), "chanel": "press_office"},
        "folder": {"path": str(tmp_path), "setle_seconds": "0"},
    }
    for kind, source in typos.items():
        refused = create_watch(operator_api, kind=kind, **source)
        assert refused.status_code == 422, (kind, refused.text)
        [typo] = set(source) - {"channel", "path"}
        assert f"unknown setting '{typo}' for a {kind} source" in refused.text, refused.text
    assert operator_api.get("/v1/watches").json() == []


def test_a_watch_cannot_be_changed_to_run_more_often_than_the_minimum(operator_api: httpx.Client) -> None:
    watch = create_watch(operator_api, kind="tme_preview", channel="some_channel").json()
    too_fast = operator_api.patch(f"/v1/watches/{watch['id']}", json={"interval_seconds": 29})
    assert too_fast.status_code == 422 and too_fast.json()["code"] == "interval_too_short"
    assert "at least 30" in too_fast.json()["detail"]
    assert operator_api.get(f"/v1/watches/{watch['id']}").json()["interval_seconds"] == 60
    at_minimum = operator_api.patch(f"/v1/watches/{watch['id']}", json={"interval_seconds": 30})
    assert at_minimum.status_code == 200 and at_minimum.json()["interval_seconds"] == 30


def test_a_watch_can_start_from_a_date_in_the_past(operator_api: httpx.Client) -> None:
    source = {"kind": "tme_preview", "channel": "kz_news_fake"}
    created = operator_api.post("/v1/watches", json={"source": source, "since": "2026-11-01T08:00:00+05:00"})
    assert created.status_code == 201, created.text
    assert (created.json()["since"], created.json()["history_complete"]) == ("2026-11-01T03:00:00Z", False)
    future = operator_api.post(
        "/v1/watches", json={"source": {"kind": "tme_preview", "channel": "other_one"}, "since": "2999-01-01"}
    )
    assert future.status_code == 422 and future.json()["code"] == "since_in_future"
    unreadable = operator_api.post(
        "/v1/watches", json={"source": {"kind": "tme_preview", "channel": "other_two"}, "since": "last week"}
    )
    assert unreadable.status_code == 422
