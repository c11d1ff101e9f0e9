"""A run fails when a process the tests started outlives them: a uvicorn or `impwatch` subprocess, a face worker of
a process pool, an orphan of a killed server.

The pytest process makes itself a child subreaper (Linux), so that the children of a process the tests killed
(the face workers of a SIGKILLed `impwatch serve`, say) are re-parented to pytest rather than to init, and are
seen here too. After each test the new descendants are noted with the test that started them; at the end of the
session whatever is still alive a few seconds later is named, killed, and the exit status set to failed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing.resource_tracker
import os
import sys
from collections.abc import Iterator

import psutil
import pytest

PR_SET_CHILD_SUBREAPER = 36
GRACE_SECONDS = 5.0

_first_seen: dict[int, str] = {}
_report: list[str] = []


def _become_subreaper() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def _exempt() -> set[int]:
    """multiprocessing's resource tracker of this process: started on first use, by design alive until pytest
    exits (it is not a test's process)."""
    tracker = getattr(multiprocessing.resource_tracker._resource_tracker, "_pid", None)
    return {tracker} if tracker else set()


def _living_descendants() -> list[psutil.Process]:
    living = []
    for process in psutil.Process().children(recursive=True):
        try:
            if process.pid not in _exempt() and process.status() != psutil.STATUS_ZOMBIE:
                living.append(process)
        except psutil.NoSuchProcess:
            continue
    return living


def _describe(process: psutil.Process) -> str:
    try:
        command = " ".join(process.cmdline())[:160] or process.name()
    except psutil.Error:
        command = "?"
    started = _first_seen.get(process.pid, "before the first test ended, or during the last teardown")
    return f"pid {process.pid}: {command}\n    first seen after: {started}"


def _reap_zombies() -> None:
    """Orphans re-parented to pytest are waited for by nobody else."""
    for process in psutil.Process().children():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(process.pid, os.WNOHANG)
        except (psutil.Error, ChildProcessError):
            continue


def pytest_configure(config: pytest.Config) -> None:
    _become_subreaper()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    try:
        return (yield)
    finally:
        for process in _living_descendants():
            _first_seen.setdefault(process.pid, item.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _reap_zombies()
    _, alive = psutil.wait_procs(_living_descendants(), timeout=GRACE_SECONDS)
    alive = [process for process in alive if process.is_running() and process.status() != psutil.STATUS_ZOMBIE]
    if not alive:
        return
    _report.extend(_describe(process) for process in alive)
    for process in alive:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(alive, timeout=GRACE_SECONDS)
    _reap_zombies()
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _report:
        title = "processes left running by the tests: the run fails (they are killed now)"
        terminalreporter.section(title, sep="=", red=True, bold=True)
        for line in _report:
            terminalreporter.line(line, red=True)
