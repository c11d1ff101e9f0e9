"""Self-enrolment by invitation, erasure and retention, checked in the storage itself (database rows, the SQLite
files, the media folder), not by trusting the code path that deletes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from app.alerts.models import Alert
from app.auth.models import AuditEvent, Invitation
from app.jobs import build_retention_job
from app.runtime import Runtime
from app.scheduling import build_watch_runner
from core.clock import utcnow
from tests.factories import WATCH_INTERVALS, bearer, enrol_person, faceless_photo
from tests.support import fixture_bytes
from tests.watchers.sources.tme_pages import ChannelServer
from watchers import service as watch_service
from watchers.models import Detection
from watchers.schemas import WatchCreate
from watchlist.models import ReferenceFace

pytestmark = pytest.mark.usefixtures("cached_faces")  # the face analysis is not under test here (tests/face_cache.py)

CONSENT = "I agree that Impersonation Watch keeps my face encodings to find impersonations of me, until I erase them."


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], channels: ChannelServer) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url, keep_media=True)


def redeem(server: str, token: str, *photos: str, consent: bool = True, name: str = "Aigerim Journalist"):
    """Redeem as the journalist would, without a key; a photo is a fixture name, or "faceless" for a gradient."""
    form = {
        "token": token,
        "display_name": name,
        "consent": str(consent).lower(),
        "consent_text": CONSENT,
        "consent_version": "2026-11",
    }
    files = [("photos", (photo, _photo_bytes(photo), "application/octet-stream")) for photo in photos]
    with httpx.Client(base_url=server, timeout=60) as anonymous:
        return anonymous.post("/v1/invitations/redeem", data=form, files=files)


def _photo_bytes(photo: str) -> bytes:
    return faceless_photo() if photo == "faceless" else fixture_bytes(photo)


def invite(admin: httpx.Client, **fields: object) -> dict:
    created = admin.post("/v1/invitations", json=fields)
    assert created.status_code == 201, created.text
    return created.json()


def run_watch_on_post(runtime: Runtime, channels: ChannelServer, channel: str, photo: str) -> None:
    channels.add_channel(channel)
    channels.add_post(channel, "Sign a military contract today!", photo=fixture_bytes(photo))
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": channel}})
        watch = watch_service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
    assert build_watch_runner(runtime).run(watch.id).error is None


def biometric_needles(runtime: Runtime, person_id: uuid.UUID) -> dict[str, bytes]:
    """Distinctive slices of everything biometric held about the person: reference encodings and crops, detection
    crops, and the kept media files their face was found in. Slices fit in one SQLite page, so a stored copy is
    found even when a blob spans several pages."""
    needles: dict[str, bytes] = {}
    with Session(runtime.db_engine) as session:
        for face in session.exec(select(ReferenceFace).where(ReferenceFace.person_id == person_id)):
            needles[f"encoding {face.id}"] = face.encoding[:64]
            needles[f"reference crop {face.id}"] = _middle(face.crop_jpeg)
        for detection in session.exec(select(Detection).where(Detection.person_id == person_id)):
            assert detection.crop_jpeg
            needles[f"detection crop {detection.id}"] = _middle(detection.crop_jpeg)
            needles[f"media {detection.sha256}"] = _middle(runtime.media_store.path_of(detection.sha256).read_bytes())
    return needles


def _middle(blob: bytes, length: int = 64) -> bytes:
    start = len(blob) // 2
    return blob[start : start + length]


def found_in_storage(runtime: Runtime, storage_root: Path, needles: dict[str, bytes]) -> list[str]:
    """Which needles are still anywhere: in any row of any table, or in any file under the test's folder (the
    SQLite database and its write-ahead log, the media folder, temporary files)."""
    haystacks = [path.read_bytes() for path in storage_root.rglob("*") if path.is_file()]
    haystacks += _every_stored_value(runtime)
    return sorted(name for name, needle in needles.items() if any(needle in haystack for haystack in haystacks))


def _every_stored_value(runtime: Runtime) -> list[bytes]:
    values: list[bytes] = []
    with runtime.db_engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(sa.select(table)):
                values += [value if isinstance(value, bytes) else str(value).encode() for value in row]
    return values


def test_a_journalist_enrolled_by_invitation_is_found_then_erased_without_trace(
    runtime: Runtime, server: str, client_as: Callable[..., httpx.Client], channels: ChannelServer, tmp_path: Path
) -> None:
    admin, member = client_as("org_admin"), client_as("org_member")
    colleague = enrol_person(runtime, "Joe Biden", "biden.jpg")
    invitation = invite(admin, note="for Aigerim", valid_hours=48)
    assert admin.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}).status_code == 201

    enrolled = redeem(server, invitation["token"], "obama.jpg", "faceless")
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    person_id = uuid.UUID(body["person"]["id"])
    assert len(body["reference_faces"]) == 1 and body["refused_photos"][0]["code"] == "no_face"
    assert body["key"]["role"] == "subject" and body["key"]["person_id"] == str(person_id)
    subject = httpx.Client(base_url=server, timeout=60, headers=bearer(body["key"]["key"]))
    with Session(runtime.db_engine) as session:
        consent = session.get(Invitation, uuid.UUID(invitation["id"]))
        assert consent is not None and consent.person_id == person_id and consent.redeemed_at is not None
        assert (consent.consent_text, consent.consent_version) == (CONSENT, "2026-11")
        assert consent.consent_client_address == "127.0.0.1"

    scanned = member.post("/v1/scans", files={"file": ("post.jpg", fixture_bytes("obama2.jpg"), "image/jpeg")})
    assert [found["person_id"] for found in scanned.json()["persons"]] == [str(person_id)]
    run_watch_on_post(runtime, channels, "fake_kz_news", "obama4.jpg")
    [alert] = subject.get("/v1/alerts").json()["items"]
    assert alert["person_id"] == str(person_id)
    assert subject.get(f"/v1/alerts/{alert['id']}/crop.jpg").content.startswith(b"\xff\xd8")
    assert [person["id"] for person in subject.get("/v1/persons").json()] == [str(person_id)]

    needles = {**biometric_needles(runtime, person_id), "name": b"Aigerim Journalist"}
    assert len(needles) == 5
    assert found_in_storage(runtime, tmp_path, needles) == sorted(needles), "the search finds what is stored"
    colleague_needles = biometric_needles(runtime, colleague.id)

    erased = subject.delete(f"/v1/persons/{person_id}")

    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert (report["reference_faces"], report["detections"], report["alerts"]) == (1, 1, 1)
    assert (report["api_keys"], report["media_files"], report["webhook_events"]) == (1, 1, 1)
    assert found_in_storage(runtime, tmp_path, needles) == []
    assert found_in_storage(runtime, tmp_path, colleague_needles) == sorted(colleague_needles), "others are kept"
    assert subject.get("/v1/alerts").status_code == 401, "the subject's key went with them"
    assert admin.get(f"/v1/persons/{person_id}").status_code == 404
    [record] = [event for event in admin.get("/v1/audit").json() if event["action"] == "person.erased"]
    assert record["object_id"] == str(person_id) and record["actor_role"] == "subject"
    assert record["details"] == {key: value for key, value in report.items() if key != "person_id"}
    subject.close()


def test_an_invitation_is_single_use_expires_and_needs_consent_and_a_usable_photo(
    runtime: Runtime, server: str, client_as: Callable[..., httpx.Client]
) -> None:
    admin = client_as("org_admin")
    token = invite(admin)["token"]

    no_consent = redeem(server, token, "obama.jpg", consent=False)
    assert no_consent.status_code == 422 and no_consent.json()["code"] == "consent_required"
    no_face = redeem(server, token, "faceless")
    assert no_face.status_code == 422 and no_face.json()["code"] == "no_usable_photo"
    assert admin.get("/v1/persons").json() == [], "a refused redemption stores nobody"

    assert redeem(server, token, "obama.jpg").status_code == 201, "the refusals did not use the invitation up"
    used = redeem(server, token, "obama.jpg", name="Someone Else")
    assert used.status_code == 409 and used.json()["code"] == "invitation_used"
    assert redeem(server, "iwinv_not-a-token", "obama.jpg").status_code == 401

    expired = invite(admin)
    with Session(runtime.db_engine) as session:
        invitation = session.get(Invitation, uuid.UUID(expired["id"]))
        assert invitation is not None
        invitation.expires_at = utcnow() - timedelta(seconds=1)
        session.add(invitation)
        session.commit()
    late = redeem(server, expired["token"], "obama.jpg")
    assert late.status_code == 403 and late.json()["code"] == "invitation_expired"
    assert [person["display_name"] for person in admin.get("/v1/persons").json()] == ["Aigerim Journalist"]


def test_crops_of_alerts_closed_as_false_match_or_dismissed_are_removed_after_the_retention_period(
    runtime: Runtime, client_as: Callable[..., httpx.Client], channels: ChannelServer
) -> None:
    member = client_as("org_member")
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    for channel, photo in (("chan_a", "obama2.jpg"), ("chan_b", "obama4.jpg"), ("chan_c", "obama-480p.jpg")):
        run_watch_on_post(runtime, channels, channel, photo)
    alerts = member.get("/v1/alerts").json()["items"]
    assert len(alerts) == 3
    statuses = dict(
        zip((alert["id"] for alert in alerts), ("false_match", "dismissed", "confirmed_impersonation"), strict=True)
    )
    for alert_id, status in statuses.items():
        assert member.patch(f"/v1/alerts/{alert_id}", json={"status": status}).status_code == 200
    retention = timedelta(days=runtime.settings.closed_alert_crop_retention_days)

    assert build_retention_job(runtime, clock=lambda: utcnow() + retention / 2)() == 0
    removed = build_retention_job(runtime, clock=lambda: utcnow() + retention + timedelta(hours=1))()

    assert removed == 2
    crops = {alert_id: member.get(f"/v1/alerts/{alert_id}/crop.jpg").status_code for alert_id in statuses}
    assert sorted(crops.values()) == [200, 404, 404]
    confirmed = next(alert_id for alert_id, status in statuses.items() if status == "confirmed_impersonation")
    assert crops[confirmed] == 200, "evidence of a confirmed impersonation is kept"
    with Session(runtime.db_engine) as session:
        kept = session.exec(select(Detection.crop_jpeg).join(Alert, Alert.detection_id == Detection.id)).all()
        assert sum(crop is not None for crop in kept) == 1
        [record] = session.exec(select(AuditEvent).where(AuditEvent.action == "retention.crops_removed")).all()
        assert record.details == {"crops": 2}
        triaged = session.exec(select(AuditEvent).where(AuditEvent.action == "alert.triaged")).all()
        assert sorted(event.details["status"] for event in triaged) == sorted(statuses.values())
        assert {event.actor_role for event in triaged} == {"org_member"}
