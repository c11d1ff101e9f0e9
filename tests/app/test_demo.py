"""`impwatch demo` as a real process, as the README's first command runs it: the stand-in channel watched, alerts
raised by the scheduler, the receiver printing verified events, the console signed in to with the printed login,
and Ctrl-C stopping the process and its face workers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from tests.app.console.test_routes import csrf_of
from tests.support import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_runs_the_whole_chain_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("IMPWATCH_")},
        "PYTHONPATH": str(ROOT),
        "IMPWATCH_FACE_WORKERS": "1",
        "COLUMNS": "200",
    }
    command = [sys.executable, "-m", "app.cli", "demo", "--port", str(port)]
    command += ["--channel-port", str(free_port()), "--receiver-port", str(free_port())]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    printed = lambda: log.read_text()  # noqa: E731
    try:
        login = wait_for(
            lambda: re.search(r"demo login \(press office admin\): (\S+) / (\S+)", printed()),
            timeout=60,
            interval=0.2,
            what="the demo login",
        )
        wait_for(
            lambda: "webhook verified: alert.created: Barack Obama" in printed(),
            timeout=60,
            interval=0.2,
            what="a verified alert event",
        )
        children = psutil.Process(process.pid).children(recursive=True)
        assert children, "the face workers run in processes of their own"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as console:
            form = {"email": login[1], "password": login[2], "csrf_token": csrf_of(console.get("/login"))}
            assert console.post("/login", data={**form, "next": "/alerts"}).status_code == 303
            inbox = console.get("/alerts")
        assert inbox.status_code == 200 and "Barack Obama" in inbox.text and 'id="alert-' in inbox.text
        assert (tmp_path / "data").is_dir()
        assert "REJECTED" not in printed()

        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0, printed()[-3000:]
        _, alive = psutil.wait_procs(children, timeout=10)  # the pool's helpers notice the parent is gone, then end
        assert not [child for child in alive if child.status() != psutil.STATUS_ZOMBIE], alive
        assert "demo stopped" in printed() and "Traceback" not in printed()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
