"""The `impwatch` command, run in this process (tests/impwatch.py) on a real SQLite file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session, select

from app.auth.models import AuditEvent
from app.cli import tell_how_to_make_the_first_key
from app.db import make_engine
from app.runtime import Runtime
from tests.factories import api_key, faceless_photo, small_face_photo, truncated_jpeg
from tests.impwatch import run
from tests.support import fixture_path
from watchlist.models import FaceCalibration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def enrolled(tmp_path: Path) -> Path:
    result = run(
        tmp_path, "person", "add", "Barack Obama", "--photo", str(fixture_path("obama.jpg")), "--alias", "Барак Обама"
    )
    assert result.returncode == 0, result.stderr
    assert "enrolled Barack Obama" in result.stdout
    return tmp_path


def test_an_enrolment_from_the_cli_is_audited(enrolled: Path) -> None:
    engine = make_engine(f"sqlite:///{enrolled / 'data' / 'impwatch.db'}")
    with Session(engine) as session:
        actions = session.exec(select(AuditEvent.action)).all()
    engine.dispose()
    assert actions == ["reference_face.enrolled"]


def test_person_list_shows_enrolled_people(enrolled: Path) -> None:
    listing = run(enrolled, "person", "list")
    assert listing.returncode == 0
    assert "Barack Obama" in listing.stdout and "Барак Обама" in listing.stdout


def test_person_add_reports_refused_photos_and_keeps_the_good_ones(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "person",
        "add",
        "Joe Biden",
        "--photo",
        str(fixture_path("biden.jpg")),
        "--photo",
        str(fixture_path("two_people.jpg")),
    )
    assert result.returncode == 1
    assert "refused" in result.stderr and "faces" in result.stderr
    assert "from 1 photo(s)" in result.stdout


def test_person_add_with_no_usable_photo_adds_nobody(tmp_path: Path) -> None:
    bad = tmp_path / "text.jpg"
    bad.write_text("not a photo")
    result = run(tmp_path, "person", "add", "Nobody", "--photo", str(bad))
    assert result.returncode == 1
    assert "was not added" in result.stderr
    assert "Nobody" not in run(tmp_path, "person", "list").stdout


def test_person_add_and_update_take_the_text_identifiers(tmp_path: Path) -> None:
    added = run(
        tmp_path,
        "person",
        "add",
        "Aigerim Nurtileu",
        "--photo",
        str(fixture_path("obama.jpg")),
        "--phone",
        "8 701 555 12 34",
        "--website",
        "https://www.orda.kz/",
        "--distinctive-alias",
        "Нұртілеу",
    )
    assert added.returncode == 0, added.stderr
    person_id = added.stdout.split("(")[1].split(")")[0]

    updated = run(
        tmp_path,
        "person",
        "update",
        person_id,
        "--phone",
        "+7 727 244 00 00",
        "--name-mentions",
        "match",
        "--no-website-alerts",
    )

    assert updated.returncode == 0, updated.stderr
    assert "phone numbers: +77272440000 (alerts on)" in updated.stdout
    assert "websites: orda.kz (alerts off)" in updated.stdout
    assert "distinctive aliases: Нұртілеу" in updated.stdout and "name mentions: match" in updated.stdout


def test_person_add_and_update_take_the_public_report_consents(tmp_path: Path) -> None:
    photo = str(fixture_path("obama.jpg"))
    added = run(tmp_path, "person", "add", "Aigerim Nurtileu", "--photo", photo, "--public-reports")
    assert added.returncode == 0, added.stderr
    person_id = added.stdout.split("(")[1].split(")")[0]

    updated = run(tmp_path, "person", "update", person_id, "--public-name")

    assert "public reports: on (named to readers: on)" in updated.stdout
    withdrawn = run(tmp_path, "person", "update", person_id, "--no-public-reports")
    assert "public reports: off (named to readers: on)" in withdrawn.stdout


def test_a_bad_number_or_website_on_the_cli_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    photo = str(fixture_path("obama.jpg"))
    bad_number = run(tmp_path, "person", "add", "X", "--photo", photo, "--phone", "12345")
    assert bad_number.returncode == 2 and "not a valid phone number" in bad_number.stderr
    bad_site = run(tmp_path, "person", "add", "X", "--photo", photo, "--website", "gov.kz")
    assert bad_site.returncode == 2 and "registrable domain" in bad_site.stderr
    assert "X" not in run(tmp_path, "person", "list").stdout
    unknown = run(tmp_path, "person", "update", "not-an-id", "--name-mentions", "off")
    assert unknown.returncode == 1 and "no person" in unknown.stderr


def test_scan_json_reports_each_input_and_carries_on_after_bad_ones(enrolled: Path) -> None:
    folder = enrolled / "inbox"
    folder.mkdir()
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_text("hello")
    (folder / "truncated.jpg").write_bytes(truncated_jpeg())
    (folder / "noface.png").write_bytes(faceless_photo())
    (folder / "group.jpg").write_bytes(fixture_path("two_people.jpg").read_bytes())
    result = run(enrolled, "scan", "--json", str(folder), str(fixture_path("obama2.jpg")))
    assert result.returncode == 1
    lines = {Path(obj["path"]).name: obj for obj in map(json.loads, result.stdout.splitlines())}
    assert set(lines) == {"empty.jpg", "text.jpg", "truncated.jpg", "noface.png", "group.jpg", "obama2.jpg"}
    assert lines["empty.jpg"]["error"]["code"] == "empty_file"
    assert lines["text.jpg"]["error"]["code"] == "unsupported_media"
    assert lines["truncated.jpg"]["error"]["code"] == "corrupt_image"
    assert lines["noface.png"]["faces"] == []
    for name in ("group.jpg", "obama2.jpg"):
        [match] = lines[name]["persons"]
        assert match["display_name"] == "Barack Obama" and match["best_distance"] <= 0.5
        assert set(match["best_box"]) == {"top", "right", "bottom", "left"}
        assert match["tier"] in {"match", "possible"}
        assert [m["tier"] for face in lines[name]["faces"] for m in face["matches"]] == [match["tier"]]


def test_scan_table_and_missing_file(enrolled: Path) -> None:
    result = run(enrolled, "scan", str(fixture_path("obama4.jpg")), str(enrolled / "missing.jpg"))
    assert result.returncode == 1
    assert "Barack Obama" in result.stdout and "tier" in result.stdout
    assert "possible" in result.stdout, "one photo, uncalibrated: Obama is kept for review, not alerted"
    assert "missing.jpg" in result.stderr


def test_calibrate_counts_background_faces_and_moves_the_thresholds(enrolled: Path) -> None:
    folder = enrolled / "archive"
    folder.mkdir()
    for name in ("biden.jpg", "kit1.jpg", "rose1.jpg", "two_people.jpg"):
        (folder / name).write_bytes(fixture_path(name).read_bytes())
    (folder / "notes.txt").write_text("not a photo")

    result = run(enrolled, "calibrate", str(folder), settings={"IMPWATCH_CALIBRATION_MIN_FACES": "4"})

    assert result.returncode == 1, "the text file could not be read"
    assert "[1/5]" in result.stderr and "notes.txt" in result.stderr and "unsupported_media" in result.stderr
    assert "5 faces seen in 4 files" in result.stdout
    engine = make_engine(f"sqlite:///{enrolled / 'data' / 'impwatch.db'}")
    with Session(engine) as session:
        [calibration] = session.exec(select(FaceCalibration)).all()
    engine.dispose()
    assert (calibration.faces, calibration.calibrated) == (4, True), "Obama's own face is not counted for him"
    assert sum(calibration.counts) == 4 and len(calibration.counts) == 200
    listing = run(enrolled, "person", "list", settings={"IMPWATCH_CALIBRATION_MIN_FACES": "4"})
    assert f"{calibration.match_threshold:.3f}" in listing.stdout

    missing = run(enrolled, "calibrate", str(enrolled / "nowhere"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr


def test_demo_finds_the_sample_people(tmp_path: Path) -> None:
    first = run(tmp_path, "demo", "--scan-only")
    assert first.returncode == 0, first.stderr
    assert "Lin-Manuel Miranda" in first.stdout and "frames" in first.stdout
    assert first.stdout.count("Barack Obama") >= 3
    second = run(tmp_path, "demo", "--scan-only")
    assert second.returncode == 0
    assert run(tmp_path, "person", "list").stdout.count("Barack Obama") == 1


def test_the_image_and_compose_commands_exist_in_the_cli(tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    image_command = json.loads(dockerfile.split("CMD", 1)[1].strip().splitlines()[0])
    compose = (ROOT / "docker-compose.yml").read_text()
    compose_commands = [json.loads(line.split(":", 1)[1]) for line in compose.splitlines() if "command:" in line]
    assert [command[1] for command in compose_commands] == ["serve", "worker", "worker", "worker", "worker"]
    assert [command[3] for command in compose_commands[2:]] == ["watches", "telegram", "analyse"]
    for command in (image_command, *compose_commands):
        assert command[0].endswith("impwatch")
        result = run(tmp_path, *command[1:], "--help")
        assert result.returncode == 0 and "Usage" in result.stdout, command


def test_serve_says_how_to_make_the_first_operator_key_until_there_is_one(
    runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    tell_how_to_make_the_first_key(runtime)
    assert "impwatch key create --role operator" in capsys.readouterr().err
    api_key(runtime, "operator")
    tell_how_to_make_the_first_key(runtime)
    assert capsys.readouterr().err == ""


def test_the_face_detector_settings_choose_the_detector(tmp_path: Path) -> None:
    """A face 22 pixels wide in a news-photo-sized picture, as a photo and as a 2-frame animation: CenterFace finds
    it, dlib's HOG does not. Photos get CenterFace by default, frames HOG."""
    rgb, _ = small_face_photo(22)
    photo, animation = tmp_path / "crowd.png", tmp_path / "crowd-animated.png"
    Image.fromarray(rgb).save(photo)
    frames = [Image.fromarray(rgb), Image.fromarray(rgb[:, ::-1].copy())]
    frames[0].save(animation, save_all=True, append_images=frames[1:], duration=1000)

    def faces(path: Path, **env: str) -> int:
        return len(json.loads(run(tmp_path, "scan", "--json", str(path), settings=env).stdout)["faces"])

    assert faces(photo) == 1 and faces(photo, IMPWATCH_FACE_DETECTOR="hog") == 0
    assert faces(animation) == 0 and faces(animation, IMPWATCH_VIDEO_FACE_DETECTOR="centerface") == 2


def test_a_bad_face_detector_setting_is_refused_with_its_name(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "person", "list"],
        cwd=tmp_path,
        env={
            "PATH": "/usr/bin:/bin",
            "IMPWATCH_DATA_DIR": str(tmp_path / "data"),
            "IMPWATCH_FACE_DETECTOR": "yolo",
            "COLUMNS": "200",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "setting IMPWATCH_FACE_DETECTOR='yolo': Input should be 'centerface' or 'hog'" in done.stderr
    assert "Traceback" not in done.stderr
