import httpx

from tests.factories import audio_only_file, truncated_jpeg
from tests.support import fixture_bytes
from tests.watchlist.test_routes import create, upload_face


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
    assert all(0.8 <= t <= 8.9 for t in found["timestamps"])


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


def test_upload_over_the_size_cap_is_413(api: httpx.Client, runtime) -> None:
    runtime.settings.max_upload_bytes = 10_000
    response = scan(api, fixture_bytes("obama.jpg"), "big.jpg")
    assert response.status_code == 413
    assert response.json()["code"] == "upload_too_large"
    assert not any((runtime.settings.data_dir / "tmp").iterdir())
