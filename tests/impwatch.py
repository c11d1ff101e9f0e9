"""`impwatch ARGS` in the test process, with Typer's CliRunner, as isolated as a process of its own would be.

Each invocation gets the environment a fresh process would (no `IMPWATCH_*` variable of the outer environment,
the data folder under the test's `tmp_path`, a wide terminal), runs in `tmp_path` (the settings read `.env` from
the working directory), and every Runtime the command opened is closed afterwards: commands build their own with
`command_runtime` and leave closing to the end of the process, which here does not come. Nothing is cached between
invocations: each command builds new settings, a new engine and a new runtime, and starts without the audit listener
that a runtime installs process-wide. A command that leaves a database connection checked out or a thread running
fails the test.

What only a real process shows (`impwatch serve` killed and restarted, `impwatch worker` and its signals) is tested
with subprocesses in tests/app/test_end_to_end.py and tests/app/webhooks/test_serve_kill.py.
"""

from __future__ import annotations

import contextlib
import os
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session
from typer.testing import CliRunner

from app.auth import audit
from app.cli import cli
from app.cli_support import err, out
from app.runtime import Runtime


@dataclass(frozen=True)
class Ran:
    """What a finished `impwatch` command left: its exit code and its two outputs (as subprocess.CompletedProcess
    names them)."""

    returncode: int
    stdout: str
    stderr: str


def run(tmp_path: Path, *args: str, settings: dict[str, str] | None = None) -> Ran:
    """`impwatch ARGS` on the SQLite database under `tmp_path`, with `settings` as extra environment."""
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("IMPWATCH_")}
    env |= {"IMPWATCH_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200", **(settings or {})}
    opened: list[Runtime] = []
    build = Runtime.from_settings

    def tracked(settings: object) -> Runtime:
        opened.append(build(settings))
        return opened[-1]

    with pytest.MonkeyPatch.context() as patch, contextlib.chdir(tmp_path):
        patch.setattr(Runtime, "from_settings", tracked)
        for console in (out, err):
            # Rich chose colours when the consoles were made, from whether pytest's stdout was a terminal then
            # (it is with `pytest -s`); a process writing to a pipe has none.
            patch.setattr(console, "_color_system", None)
            patch.setattr(console, "_width", 200)  # tables and messages unwrapped, whatever runs the tests
        threads = set(threading.enumerate())
        listening = _audit_listener(False)
        try:
            result = CliRunner().invoke(cli, list(args), env=env, prog_name="impwatch")
        finally:
            connections = sum(runtime.db_engine.pool.checkedout() for runtime in opened)
            for runtime in opened:
                runtime.close()
            _audit_listener(listening)
    assert connections == 0, f"impwatch {' '.join(args)} left {connections} database connection(s) checked out"
    for thread in set(threading.enumerate()) - threads:
        thread.join(timeout=5)
        assert not thread.is_alive(), f"impwatch {' '.join(args)} left the thread {thread.name} running"
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))  # as an uncaught error in a process prints
    return Ran(result.exit_code, result.stdout, stderr)


def _audit_listener(on: bool) -> bool:
    """Turn the process-wide audit listener on or off; whether it was on. A command starts without it, as in a
    fresh process, so that a command that forgot to install it is caught even after other tests installed it."""
    was_on = sa.event.contains(Session, "before_flush", audit._audit_changes)
    if on and not was_on:
        sa.event.listen(Session, "before_flush", audit._audit_changes)
    elif was_on and not on:
        sa.event.remove(Session, "before_flush", audit._audit_changes)
    return was_on
