"""Screenshots of the console's pages for the README, made from the demo's data: starts `impwatch demo` on free ports
with a data folder of its own, waits for its alerts, signs in with Debian's Chromium (Playwright through its
executable path, no browser download) and saves one PNG per page, 1280x800, into docs/screenshots/.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
VIEWPORT = {"width": 1280, "height": 800}
ALERTS_EXPECTED = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def poll(check: Callable[[], re.Match[str] | bool | None], what: str, timeout: float = 120) -> re.Match[str] | bool:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.3)
    return found


def start_demo(data: Path, port: int) -> subprocess.Popen[bytes]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("IMPWATCH_")}
    env |= {"PYTHONPATH": str(ROOT), "IMPWATCH_FACE_WORKERS": "1", "COLUMNS": "200"}
    command = [sys.executable, "-m", "app.cli", "demo", "--port", str(port)]
    command += ["--channel-port", str(free_port()), "--receiver-port", str(free_port())]
    with (data / "demo.log").open("wb") as log:
        return subprocess.Popen(
            command, env=env, cwd=data, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/(alerts|watches)$"))


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"saved {out / name}.png")


def admin_pages(page: Page, base_url: str, out: Path) -> None:
    page.goto(f"{base_url}/alerts")
    shoot(page, out, "inbox")
    video_alert = page.locator("tr.alert-row", has_text="Lin-Manuel Miranda").locator("a[href^='/alerts/']").first
    video_alert.click()
    page.wait_for_url(re.compile(r".*/alerts/[0-9a-f-]+$"))
    shoot(page, out, "alert-detail")
    for path, name in (("/people", "people"), ("/people/new", "enrolment"), ("/webhooks", "webhooks")):
        page.goto(base_url + path)
        shoot(page, out, name)
    page.goto(f"{base_url}/invitations")
    page.get_by_label("For whom (a note for you)").fill("Aigerim, KTK correspondent")
    page.get_by_role("button", name="Create an invitation").click()
    link = page.locator("#link").input_value()
    shoot(page, out, "invitations")
    page.context.clear_cookies()
    page.goto(link)
    shoot(page, out, "self-enrolment")


def operator_pages(page: Page, base_url: str, out: Path) -> None:
    for path, name in (("/watches", "watches"), ("/audit", "audit")):
        page.goto(base_url + path)
        shoot(page, out, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="impwatch-screenshots-") as folder:
        data = Path(folder)
        demo = start_demo(data, port)
        printed = (data / "demo.log").read_text
        try:
            login = poll(lambda: re.search(r"admin\): (\S+) / (\S+)", printed()), "the demo login")
            operator = poll(lambda: re.search(r"operator: watches\): (\S+) / (\S+)", printed()), "the operator login")
            poll(lambda: printed().count("webhook verified: alert.created") >= ALERTS_EXPECTED, "the demo's alerts")
            assert isinstance(login, re.Match) and isinstance(operator, re.Match)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
                for (email, password), pages in ((login.groups(), admin_pages), (operator.groups(), operator_pages)):
                    context = browser.new_context(locale="en-GB", viewport=VIEWPORT, timezone_id="Asia/Almaty")
                    page = context.new_page()
                    sign_in(page, base_url, email, password)
                    pages(page, base_url, args.out)
                    context.close()
                browser.close()
        finally:
            os.killpg(demo.pid, signal.SIGINT)
            demo.wait(timeout=60)


if __name__ == "__main__":
    main()
