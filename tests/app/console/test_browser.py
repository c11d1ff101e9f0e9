"""The console in a real Chromium (Debian's `chromium`, driven by Playwright through its executable path): what a
press officer, a journalist and an attacker do in the browser. These fail when the browser cannot start; only
`IMPWATCH_TEST_BROWSER_OPTIONAL=1` (never in CI) turns that into a skip on a machine without Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlmodel import Session, select

from app.alerts.models import Alert
from app.auth import service as auth
from app.main import create_app
from app.runtime import Runtime
from tests.app.auth.world import World, build_world
from tests.factories import clip_in_container, faceless_photo
from tests.support import fixture_path, running_server
from watchers.models import MediaItem
from watchlist.models import Person

CHROMIUM = os.environ.get("IMPWATCH_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        message = f"Chromium is not installed at {CHROMIUM}: `make test` installs it (apt-get install chromium)"
        if os.environ.get("IMPWATCH_TEST_BROWSER_OPTIONAL") == "1":
            pytest.skip(message)
        pytest.fail(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def base_url(runtime: Runtime) -> Iterator[str]:
    with running_server(create_app(runtime)) as url:
        yield url


@pytest.fixture
def world(runtime: Runtime) -> World:
    with Session(runtime.db_engine) as session:
        world = build_world(session)
        for role in ("org_admin", "org_member"):
            auth.create_user(session, f"{role}@example.org", role, world.own.organization_id, password=PASSWORD)
        session.commit()
    return world


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="en-GB")
    yield context.new_page()
    context.close()


def sign_in(page: Page, base_url: str, role: str = "org_member") -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(f"{role}@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base_url}/alerts")


def test_sign_in_filter_the_inbox_triage_in_place_and_sign_out(page: Page, base_url: str, world: World) -> None:
    sign_in(page, base_url)
    row = page.locator(f"#alert-{world.own.alert_id}")
    expect(row).to_be_visible()
    page.get_by_label("Kind").select_option("phone_number")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No alerts.")).to_be_visible()
    page.get_by_label("Kind").select_option("face_match")
    page.get_by_label("Tier").select_option("match")
    page.get_by_role("button", name="Filter").click()
    expect(row).to_be_visible()
    page.evaluate("window.notReloaded = true")
    page.keyboard.press("j")
    page.keyboard.press("1")
    expect(row.locator(".status")).to_have_text("confirmed_impersonation")
    row.get_by_role("button", name="3. false_match").click()
    expect(row.locator(".status")).to_have_text("false_match")
    assert page.evaluate("window.notReloaded") is True, "the triage reloaded the page"
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base_url}/login")
    page.goto(f"{base_url}/alerts")
    expect(page).to_have_url(f"{base_url}/login?next=/alerts")


def test_a_form_without_its_csrf_token_is_refused_and_another_organisations_alert_is_404(
    page: Page, base_url: str, world: World
) -> None:
    sign_in(page, base_url)
    page.goto(f"{base_url}/alerts/{world.own.alert_id}")
    page.evaluate("document.querySelector('form.card input[name=csrf_token]').remove()")
    page.get_by_label("dismissed").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("csrf_failed")).to_be_visible()
    answer = page.goto(f"{base_url}/alerts/{world.other.alert_id}")
    assert answer is not None and answer.status == 404


def test_the_video_starts_at_the_first_matched_second(
    page: Page, base_url: str, world: World, runtime: Runtime, tmp_path: Path
) -> None:
    clip = clip_in_container(tmp_path / "clip.webm", "webm", "libvpx", seconds=6)
    with Session(runtime.db_engine) as session:
        alert = session.get(Alert, world.own.alert_id)
        assert alert is not None
        item = session.exec(select(MediaItem).where(MediaItem.sha256 == alert.subject_key)).one()
        item.kind = "video"
        alert.evidence = {**alert.evidence, "media_kind": "video", "best_timestamp": 3.0, "timestamps": [3.0, 5.0]}
        session.add_all([item, alert])
        session.commit()
        path = runtime.media_store.path_of(alert.subject_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(clip, path)
    sign_in(page, base_url)
    page.goto(f"{base_url}/alerts/{world.own.alert_id}")
    video = page.locator("video")
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    assert abs(video.evaluate("v => v.currentTime") - 3.0) < 0.5
    page.get_by_role("link", name="5.0 s").click()
    page.wait_for_function("document.querySelector('video').currentTime >= 4.9")


def test_an_enrolment_photo_is_refused_with_its_reason_before_saving(
    page: Page, base_url: str, world: World, tmp_path: Path
) -> None:
    blank = tmp_path / "blank.png"
    blank.write_bytes(faceless_photo())
    sign_in(page, base_url, "org_admin")
    page.goto(f"{base_url}/people/new")
    page.get_by_label("Photos of the face").set_input_files([str(blank), str(fixture_path("obama.jpg"))])
    results = page.locator("#photo-results")
    expect(results.locator(".refused")).to_contain_text("blank.png")
    expect(results.locator(".refused")).to_contain_text("no face")
    expect(results.locator(".accepted")).to_contain_text("obama.jpg")


def test_a_journalist_enrols_through_an_invitation_in_russian_and_erases_themself(
    browser: Browser, base_url: str, world: World, runtime: Runtime
) -> None:
    with Session(runtime.db_engine) as session:
        _, token = auth.create_invitation(session, world.own.organization_id, timedelta(hours=1), "journalist", None)
        session.commit()
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    try:
        page.goto(f"{base_url}/enrol/{token}")
        expect(page.get_by_role("heading", name="Регистрация")).to_be_visible()
        page.get_by_label("Ваше имя").fill("Айгуль Журналист")
        page.get_by_label("Электронная почта (для входа)").fill("aigul@example.org")
        page.get_by_label("Новый пароль").fill(PASSWORD)
        page.get_by_label("Фотографии вашего лица").set_input_files([str(fixture_path("obama.jpg"))])
        expect(page.locator("#photo-results .accepted")).to_contain_text("принято")
        page.get_by_label("Я согласен(на)").check()
        page.get_by_role("button", name="Зарегистрироваться").click()
        expect(page).to_have_url(f"{base_url}/alerts")
        expect(page.get_by_role("heading", name="Оповещения")).to_be_visible()
        with Session(runtime.db_engine) as session:
            person = session.exec(select(Person).where(Person.display_name == "Айгуль Журналист")).one()
        page.goto(f"{base_url}/people/{person.id}")
        page.get_by_label("Введите имя для подтверждения").fill("Айгуль Журналист")
        page.get_by_role("button", name="Удалить навсегда").click()
        expect(page.get_by_text("Ваши данные удалены")).to_be_visible()
        with Session(runtime.db_engine) as session:
            assert session.get(Person, person.id) is None
    finally:
        context.close()
