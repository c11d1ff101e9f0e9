"""The console over HTTP, as a browser talks to it: cookies, forms, CSRF tokens; a real server, a real database."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlmodel import Session, select

from app.alerts.models import Alert
from app.auth import service as auth
from app.auth.models import UserSession
from app.main import create_app
from app.runtime import Runtime
from core.clock import utcnow
from tests.app.auth.world import World, build_world
from tests.support import fixture_bytes, running_server, wait_for
from watchers.channels.models import CandidateChannel
from watchers.models import MediaItem

PASSWORD = "correct horse battery"


@pytest.fixture
def base_url(runtime: Runtime) -> Iterator[str]:
    with running_server(create_app(runtime)) as url:
        yield url


@pytest.fixture
def world(runtime: Runtime) -> World:
    with Session(runtime.db_engine) as session:
        return build_world(session)


def browser(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def member(runtime: Runtime, world: World, email: str = "press@example.org", role: str = "org_member") -> None:
    with Session(runtime.db_engine) as session:
        auth.create_user(session, email, role, world.own.organization_id, password=PASSWORD)
        session.commit()


def sign_in(client: httpx.Client, email: str = "press@example.org", password: str = PASSWORD) -> httpx.Response:
    token = csrf_of(client.get("/login"))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token, "next": "/alerts"})


def test_sign_in_opens_a_session_in_an_http_only_lax_cookie_and_sign_out_ends_it(
    runtime: Runtime, world: World, base_url: str
) -> None:
    member(runtime, world)
    with browser(base_url) as client:
        assert client.get("/alerts").headers["location"] == "/login?next=/alerts"
        signed_in = sign_in(client)
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/alerts"
        cookie = signed_in.headers["set-cookie"]
        assert "iw_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
        assert "Max-Age=43200" in cookie and "Secure" not in cookie
        token = client.cookies["iw_session"]
        inbox = client.get("/alerts")
        assert inbox.status_code == 200 and "own" in inbox.text
        assert client.post("/logout", data={"csrf_token": csrf_of(inbox)}).headers["location"] == "/login"
        client.cookies.set("iw_session", token)
        assert client.get("/alerts").status_code == 303, "the session ended with the sign-out"
    with Session(runtime.db_engine) as session:
        user = auth.authenticate_user(session, "press@example.org", PASSWORD)
        assert session.exec(select(UserSession).where(UserSession.user_id == user.id)).all() == []


def test_a_wrong_password_is_refused_and_attempts_are_rate_limited(
    runtime: Runtime, world: World, base_url: str
) -> None:
    member(runtime, world)
    with browser(base_url) as client:
        answers = [sign_in(client, password="wrong password!").status_code for _ in range(5)]
        assert answers == [401] * 5
        assert sign_in(client).status_code == 429


def test_a_form_posted_without_its_csrf_token_is_refused(runtime: Runtime, world: World, base_url: str) -> None:
    with browser(base_url) as client:
        client.cookies.set("iw_session", world.own.sessions["org_member"].token)
        alert = f"/alerts/{world.own.alert_id}/triage"
        refused = client.post(alert, data={"status": "dismissed"})
        assert refused.status_code == 403 and "csrf_failed" in refused.text
        someone_elses = world.other.sessions["org_member"].csrf
        assert client.post(alert, data={"status": "dismissed", "csrf_token": someone_elses}).status_code == 403
        own = world.own.sessions["org_member"].csrf
        done = client.post(alert, data={"status": "dismissed"}, headers={"X-CSRF-Token": own})
        assert done.status_code == 303
    with Session(runtime.db_engine) as session:
        stored = session.get(Alert, world.own.alert_id)
        assert stored is not None and stored.status == "dismissed"


def test_another_organisations_alert_is_not_found_as_a_page(world: World, base_url: str) -> None:
    with browser(base_url) as client:
        client.cookies.set("iw_session", world.own.sessions["org_admin"].token)
        assert client.get(f"/alerts/{world.own.alert_id}").status_code == 200
        other = client.get(f"/alerts/{world.other.alert_id}")
        assert other.status_code == 404 and other.headers["content-type"].startswith("text/html")
        assert str(world.other.alert_id) not in client.get("/alerts").text


def test_htmx_triage_answers_the_updated_row(world: World, base_url: str) -> None:
    signed_in = world.own.sessions["org_member"]
    with browser(base_url) as client:
        client.cookies.set("iw_session", signed_in.token)
        row = client.post(
            f"/alerts/{world.own.alert_id}/triage",
            data={"status": "confirmed_impersonation"},
            headers={"X-CSRF-Token": signed_in.csrf, "HX-Request": "true"},
        )
        assert row.status_code == 200 and row.text.lstrip().startswith(f'<tr id="alert-{world.own.alert_id}"')
        assert 'value="confirmed_impersonation"' not in row.text and "status-confirmed_impersonation" in row.text


def test_the_inbox_filters_and_counts_new_alerts(world: World, base_url: str) -> None:
    with browser(base_url) as client:
        client.cookies.set("iw_session", world.own.sessions["org_member"].token)
        everything = client.get("/alerts")
        assert "1 " in everything.text and f"alert-{world.own.alert_id}" in everything.text
        assert f"alert-{world.own.alert_id}" not in client.get("/alerts", params={"kind": "phone_number"}).text
        assert f"alert-{world.own.alert_id}" in client.get("/alerts", params={"tier": "match", "status": "new"}).text
        assert f"alert-{world.own.alert_id}" not in client.get("/alerts", params={"tier": "possible"}).text


def test_the_evidence_zip_holds_the_kept_media_the_crop_and_a_manifest_of_hashes(
    runtime: Runtime, world: World, base_url: str
) -> None:
    video = fixture_bytes("short_hamilton_clip.mp4")
    with Session(runtime.db_engine) as session:
        sha256s = [item.sha256 for item in session.exec(select(MediaItem)) if item.sha256]
    for sha256 in sha256s:
        path = runtime.media_store.path_of(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(video)
    with browser(base_url) as client:
        client.cookies.set("iw_session", world.own.sessions["org_member"].token)
        answer = client.get(f"/alerts/{world.own.alert_id}/evidence.zip")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
        bundle = zipfile.ZipFile(io.BytesIO(answer.content))
        manifest = json.loads(bundle.read("manifest.json"))
        assert manifest["alert"]["id"] == str(world.own.alert_id) and manifest["service"]["version"]
        assert manifest["occurrences"][0]["permalink"] == "https://t.me/x/1"
        for listed in manifest["files"]:
            assert hashlib.sha256(bundle.read(listed["name"])).hexdigest() == listed["sha256"]
        assert {"face_crop.jpg"} < {listed["name"] for listed in manifest["files"]} and manifest["media_kept"]
        page = client.get(f"/alerts/{world.own.alert_id}")
        media_url = re.search(r'src="(/alerts/[^"]+/media/[^"#]+)', page.text)
        assert media_url, page.text
        ranged = client.get(media_url.group(1), headers={"Range": "bytes=100-199"})
        assert ranged.status_code == 206 and ranged.content == video[100:200]


def test_the_language_follows_the_browser_and_the_switcher(world: World, base_url: str) -> None:
    with browser(base_url) as client:
        assert "Кіру" in client.get("/login", headers={"Accept-Language": "kk-KZ,kk;q=0.9"}).text
        assert "Войти" in client.get("/login", headers={"Accept-Language": "ru"}).text
        switched = client.get("/language", params={"lang": "en", "next": "/login"})
        assert switched.headers["location"] == "/login"
        assert "Sign in" in client.get("/login", headers={"Accept-Language": "ru"}).text


def test_an_administrator_rescans_kept_media_from_the_persons_page(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime(keep_media=True)
    with Session(runtime.db_engine) as session:
        own = build_world(session).own
    admin, member_session = own.sessions["org_admin"], own.sessions["org_member"]
    page = f"/people/{own.person_id}"
    with running_server(create_app(runtime)) as base_url, browser(base_url) as client:
        client.headers["Accept-Language"] = "en"
        client.cookies.set("iw_session", member_session.token)
        assert "Last re-scan" not in client.get(page).text
        assert "Re-scan kept media" not in client.get(page).text, "members read, administrators act"
        assert client.post(f"{page}/rescan", data={"csrf_token": member_session.csrf}).status_code == 403

        client.cookies.set("iw_session", admin.token)
        assert "Re-scan kept media" in client.get(page).text
        started = client.post(f"{page}/rescan", data={"csrf_token": admin.csrf})
        assert started.status_code == 303 and started.headers["location"] == f"{page}#rescan"
        shown = wait_for(
            lambda: "<strong>finished</strong>" in (text := client.get(page).text) and text,
            what="the re-scan's end on the page",
        )
    assert re.search(r"Last re-scan: <strong>finished</strong>, (\d+) / \1 files, 0 new detections", shown)


def test_the_operator_watches_a_channel_the_watched_posts_point_to(
    runtime: Runtime, world: World, base_url: str
) -> None:
    seen = utcnow()
    with Session(runtime.db_engine) as session:
        pointed = CandidateChannel(
            key="march_organisers",
            username="march_organisers",
            posts_count=3,
            alerts_count=1,
            first_seen_at=seen,
            last_seen_at=seen,
        )
        nameless = CandidateChannel(
            key="name:Forwarded by a person",
            name="Forwarded by a person",
            posts_count=1,
            first_seen_at=seen,
            last_seen_at=seen,
        )
        session.add_all([pointed, nameless])
        session.commit()
        pointed_id = pointed.id
    with browser(base_url) as client:
        client.headers["Accept-Language"] = "en"
        client.cookies.set("iw_session", world.operator_session.token)
        page = client.get("/watches").text
        assert "@march_organisers" in page and f"/channels/{pointed_id}/watch" in page
        assert "Forwarded by a person" in page and "no public username" in page
        watched = client.post(f"/channels/{pointed_id}/watch", data={"csrf_token": world.operator_session.csrf})
        assert watched.status_code == 303
        page = client.get("/watches").text
    assert "tme_preview: march_organisers" in page, "now a watch"
    assert f"/channels/{pointed_id}/watch" not in page, "and no longer a candidate"
