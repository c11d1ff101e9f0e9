"""Organisations, keys and the audit log over HTTP: keys are shown once, stored as a hash, expire and are revoked;
an organisation administrator manages its own keys only; the audit log records who did what."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from app.auth.models import ApiKey
from app.runtime import Runtime
from core.clock import utcnow
from tests.factories import bearer
from tests.support import fixture_bytes

pytestmark = pytest.mark.usefixtures("cached_faces")  # the face analysis is not under test here (tests/face_cache.py)


def test_an_operator_creates_an_organisation_and_its_first_admin_key(
    client_as: Callable[..., httpx.Client], server: str, runtime: Runtime
) -> None:
    operator = client_as("operator")
    created = operator.post("/v1/organizations", json={"name": "Ministry press office"})
    assert created.status_code == 201
    assert operator.post("/v1/organizations", json={"name": "Ministry press office"}).status_code == 409
    organization_id = created.json()["id"]

    issued = operator.post("/v1/keys", json={"role": "org_admin", "organization_id": organization_id, "name": "desk"})
    assert issued.status_code == 201
    key = issued.json()["key"]
    assert key.startswith(f"iw_{issued.json()['prefix']}_")
    with Session(runtime.db_engine) as session:
        stored = session.exec(select(ApiKey).where(ApiKey.prefix == issued.json()["prefix"])).one()
        assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest(), "only the hash is stored"
    listed = operator.get("/v1/keys").json()
    assert issued.json()["id"] in [row["id"] for row in listed] and key not in str(listed)

    with httpx.Client(base_url=server, headers=bearer(key)) as admin:
        assert admin.post("/v1/persons", json={"display_name": "The Minister"}).status_code == 201
    missing_org = operator.post("/v1/keys", json={"role": "org_member"})
    assert missing_org.status_code == 422 and missing_org.json()["code"] == "organization_required"


def test_an_admin_manages_its_own_organisations_keys_only(client_as: Callable[..., httpx.Client], server: str) -> None:
    admin = client_as("org_admin")
    other_admin = client_as("org_admin", organization="Another newsroom")
    member = admin.post("/v1/keys", json={"role": "org_member", "name": "night shift"}).json()
    foreign = other_admin.post("/v1/keys", json={"role": "org_member"}).json()

    assert {row["organization_id"] for row in admin.get("/v1/keys").json()} == {member["organization_id"]}
    assert foreign["id"] not in admin.get("/v1/keys").text
    assert admin.delete(f"/v1/keys/{foreign['id']}").status_code == 404
    assert admin.post("/v1/keys", json={"role": "operator"}).status_code == 403
    elsewhere = admin.post("/v1/keys", json={"role": "org_member", "organization_id": foreign["organization_id"]})
    assert elsewhere.status_code == 404

    with httpx.Client(base_url=server, headers=bearer(member["key"])) as night_shift:
        assert night_shift.get("/v1/alerts").status_code == 200
        revoked = admin.delete(f"/v1/keys/{member['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        refused = night_shift.get("/v1/alerts")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert refused.json()["code"] == "invalid_key"


def test_expired_missing_and_malformed_keys_are_refused(client_as: Callable[..., httpx.Client], server: str) -> None:
    admin = client_as("org_admin")
    soon = (utcnow() + timedelta(seconds=2)).isoformat()
    expiring = admin.post("/v1/keys", json={"role": "org_member", "expires_at": soon}).json()
    past = (utcnow() - timedelta(seconds=1)).isoformat()
    expired = admin.post("/v1/keys", json={"role": "org_member", "expires_at": past}).json()

    with httpx.Client(base_url=server) as anonymous:
        assert anonymous.get("/v1/alerts", headers=bearer(expiring["key"])).status_code == 200
        assert anonymous.get("/v1/alerts", headers=bearer(expired["key"])).status_code == 401
        assert anonymous.get("/v1/alerts").json()["code"] == "missing_key"
        for wrong in ("iw_nope", expiring["key"] + "x", "Basic abc", "iw_" + "0" * 8 + "_guess"):
            assert anonymous.get("/v1/alerts", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
        assert anonymous.get("/healthz").status_code == 200


def test_the_audit_log_records_enrolment_keys_and_triage_per_organisation(
    client_as: Callable[..., httpx.Client],
) -> None:
    admin, operator = client_as("org_admin"), client_as("operator")
    other_admin = client_as("org_admin", organization="Another newsroom")
    person = admin.post("/v1/persons", json={"display_name": "Barack Obama"}).json()
    face = admin.post(
        f"/v1/persons/{person['id']}/faces", files={"photo": ("obama.jpg", fixture_bytes("obama.jpg"), "image/jpeg")}
    )
    assert face.status_code == 201
    key = admin.post("/v1/keys", json={"role": "org_member"}).json()
    admin.delete(f"/v1/keys/{key['id']}")
    other_admin.post("/v1/keys", json={"role": "org_member"})

    events = admin.get("/v1/audit").json()
    actions = [event["action"] for event in events]
    assert {"reference_face.enrolled", "key.created", "key.revoked"} <= set(actions)
    assert actions.count("key.created") == 1, "the other organisation's key is not shown"
    enrolled = next(event for event in events if event["action"] == "reference_face.enrolled")
    assert enrolled["object_id"] == person["id"] and enrolled["actor_role"] == "org_admin"
    assert "encoding" not in str(enrolled["details"])
    assert len([e for e in operator.get("/v1/audit").json() if e["action"] == "key.created"]) >= 2
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True), "newest first"


def redeem_form(token: str, name: str = "Aigerim Journalist") -> dict[str, str]:
    return {
        "token": token,
        "display_name": name,
        "consent": "true",
        "consent_text": "I agree.",
        "consent_version": "2026-11",
    }


def test_concurrent_redemptions_of_one_invitation_enrol_one_person(
    client_as: Callable[..., httpx.Client], server: str
) -> None:
    admin = client_as("org_admin")
    tokens = [admin.post("/v1/invitations", json={}).json()["token"] for _ in range(3)]
    photo = fixture_bytes("obama.jpg")
    attempts = [token for token in tokens for _ in range(5)]
    start = threading.Barrier(len(attempts))
    answers: dict[int, httpx.Response] = {}

    def attempt(index: int, token: str) -> None:
        with httpx.Client(base_url=server, timeout=120) as anonymous:
            start.wait(timeout=30)
            files = [("photos", ("me.jpg", photo, "image/jpeg"))]
            answers[index] = anonymous.post("/v1/invitations/redeem", data=redeem_form(token), files=files)

    threads = [threading.Thread(target=attempt, args=pair) for pair in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == len(attempts)
    for token in tokens:
        mine = [answers[i] for i, t in enumerate(attempts) if t == token]
        assert sorted(answer.status_code for answer in mine) == [201, 409, 409, 409, 409]
        assert {answer.json()["code"] for answer in mine if answer.status_code == 409} == {"invitation_used"}
    assert len(admin.get("/v1/persons").json()) == 3


class HeldEngine:
    """The real face engine, held inside its face search until the test lets it go."""

    def __init__(self, engine: object) -> None:
        self.engine = engine
        self.entered, self.released = threading.Event(), threading.Event()

    def __getattr__(self, name: str) -> object:
        return getattr(self.engine, name)

    def find_faces(self, rgb: object) -> object:
        self.entered.set()
        assert self.released.wait(timeout=60)
        return self.engine.find_faces(rgb)  # type: ignore[attr-defined]


def test_a_redemption_analysing_its_photos_blocks_no_other_write(
    runtime: Runtime, client_as: Callable[..., httpx.Client], server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = client_as("org_admin")
    token = admin.post("/v1/invitations", json={}).json()["token"]
    other = client_as("org_admin", organization="Another newsroom")  # never used: its last_used_at is written too
    held = HeldEngine(runtime.face_engine)
    monkeypatch.setattr(runtime, "face_engine", held)
    answers: list[httpx.Response] = []

    def redeem() -> None:
        with httpx.Client(base_url=server, timeout=120) as anonymous:
            files = [("photos", ("me.jpg", fixture_bytes("obama.jpg"), "image/jpeg"))]
            answers.append(anonymous.post("/v1/invitations/redeem", data=redeem_form(token), files=files))

    redemption = threading.Thread(target=redeem)
    redemption.start()
    try:
        assert held.entered.wait(timeout=30), "the redemption never reached its face analysis"
        created = other.post("/v1/persons", json={"display_name": "Someone"}, timeout=10)
        assert created.status_code == 201, created.text
    finally:
        held.released.set()
        redemption.join(timeout=60)
    assert [answer.status_code for answer in answers] == [201]


def test_a_key_is_accepted_while_another_writer_holds_the_database(
    runtime: Runtime, client_as: Callable[..., httpx.Client]
) -> None:
    if runtime.db_engine.dialect.name != "sqlite":
        pytest.skip("the write lock is SQLite's")
    member = client_as("org_member")  # never used: its first request records last_used_at
    with runtime.db_engine.connect() as holder:
        holder.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            answer = member.get("/v1/alerts", timeout=10)
        finally:
            holder.rollback()
    assert answer.status_code == 200, answer.text
