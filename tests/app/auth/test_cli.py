"""`impwatch org` and `impwatch key`, run in this process (tests/impwatch.py) on a real SQLite file; the printed key
is then used against the served app."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlmodel import Session

from app.auth import service
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from core.clock import utcnow
from tests.factories import bearer
from tests.impwatch import run
from tests.support import fixture_path, running_server


def test_an_operator_sets_up_a_press_office_whose_admin_key_works(tmp_path: Path) -> None:
    assert run(tmp_path, "org", "create", "Akimat press office").returncode == 0
    assert run(tmp_path, "org", "create", "Akimat press office").returncode == 1, "names are unique"
    created = run(tmp_path, "key", "create", "--role", "org_admin", "--org", "Akimat press office", "--name", "desk")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("iw_") and "shown only now" in created.stderr
    listing = run(tmp_path, "org", "list")
    assert "Akimat press office" in listing.stdout

    runtime = Runtime.from_settings(Settings(data_dir=tmp_path / "data", face_workers=0))
    try:
        with running_server(create_app(runtime)) as base_url, httpx.Client(base_url=base_url) as client:
            assert client.get("/v1/persons", headers=bearer(key)).status_code == 200
            assert client.get("/v1/watches", headers=bearer(key)).status_code == 200
            assert client.post("/v1/organizations", json={"name": "x"}, headers=bearer(key)).status_code == 403
        with Session(runtime.db_engine) as session:
            assert service.authenticate(session, key, utcnow()).role == "org_admin"
    finally:
        runtime.close()


def test_key_create_refuses_bad_roles_and_unknown_organisations(tmp_path: Path) -> None:
    subject = run(tmp_path, "key", "create", "--role", "subject", "--org", "x")
    assert subject.returncode == 2 and "invitation" in subject.stderr
    unknown = run(tmp_path, "key", "create", "--role", "org_member", "--org", "Nowhere")
    assert unknown.returncode == 1 and "Nowhere" in unknown.stderr
    orphan = run(tmp_path, "key", "create", "--role", "org_member")
    assert orphan.returncode == 1 and "belongs to an organisation" in orphan.stderr
    operator = run(tmp_path, "key", "create", "--role", "operator")
    assert operator.returncode == 0 and operator.stdout.startswith("iw_")


def test_person_add_chooses_the_only_organisation_and_asks_when_there_are_several(tmp_path: Path) -> None:
    photo = str(fixture_path("obama.jpg"))
    first = run(tmp_path, "person", "add", "Barack Obama", "--photo", photo)
    assert first.returncode == 0 and "of default" in first.stdout, "a lone press office never names one"
    run(tmp_path, "org", "create", "Second office")
    ambiguous = run(tmp_path, "person", "add", "Joe Biden", "--photo", str(fixture_path("biden.jpg")))
    assert ambiguous.returncode == 2 and "--org" in ambiguous.stderr
    chosen = run(
        tmp_path, "person", "add", "Joe Biden", "--photo", str(fixture_path("biden.jpg")), "--org", "Second office"
    )
    assert chosen.returncode == 0 and "of Second office" in chosen.stdout


def test_user_create_prints_a_one_time_link_where_the_colleague_sets_a_password_and_signs_in(tmp_path: Path) -> None:
    office = "Akimat press office"
    assert run(tmp_path, "org", "create", office).returncode == 0
    created = run(tmp_path, "user", "create", "Desk@Example.org", "--role", "org_member", "--org", office)
    assert created.returncode == 0, created.stderr
    link = created.stdout.strip()
    assert link.startswith("http://127.0.0.1:8000/password/iwpw_")
    again = run(tmp_path, "user", "create", "desk@example.org", "--role", "org_member", "--org", "Akimat press office")
    assert again.returncode == 1, "emails are unique, whatever their case"
    refused = run(tmp_path, "user", "create", "x@example.org", "--role", "subject", "--org", "Akimat press office")
    assert refused.returncode == 2

    runtime = Runtime.from_settings(Settings(data_dir=tmp_path / "data", face_workers=0))
    try:
        with running_server(create_app(runtime)) as base_url, httpx.Client(base_url=base_url) as browser:
            path = link.removeprefix("http://127.0.0.1:8000")
            page = browser.get(path)
            assert page.status_code == 200 and "desk@example.org" in page.text
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            done = browser.post(path, data={"password": "a long password", "csrf_token": token})
            assert done.status_code == 303 and "iw_session" in done.headers["set-cookie"]
            assert browser.get(path).status_code == 401, "the link works once"
        with Session(runtime.db_engine) as session:
            assert service.authenticate_user(session, "desk@example.org", "a long password").role == "org_member"
    finally:
        runtime.close()
