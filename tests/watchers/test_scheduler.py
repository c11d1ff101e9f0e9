"""The real APScheduler, driven by the watch table: jobs follow the table, run-now, pause, one run at a time."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.runtime import Runtime
from tests.factories import WATCH_INTERVALS
from tests.support import wait_for
from watchers import service
from watchers.models import Watch
from watchers.scheduler import WatchScheduler
from watchers.schemas import WatchCreate, WatchUpdate


class RecordingRun:
    """Stands in for the watch runner: counts runs per watch and how many ran at once."""

    def __init__(self) -> None:
        self.runs: Counter[uuid.UUID] = Counter()
        self.running = 0
        self.most_at_once = 0
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def __call__(self, watch_id: uuid.UUID) -> None:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        self.release.wait(timeout=10)
        with self._lock:
            self.running -= 1
            self.runs[watch_id] += 1


@pytest.fixture
def recorder() -> RecordingRun:
    return RecordingRun()


@pytest.fixture
def scheduler(runtime: Runtime, recorder: RecordingRun) -> Iterator[WatchScheduler]:
    scheduler = WatchScheduler(runtime.db_engine, recorder, sync_seconds=0.1, jitter_seconds=0, threads=4)
    scheduler.start()
    yield scheduler
    recorder.release.set()
    scheduler.shutdown()


def add_folder_watch(runtime: Runtime, tmp_path, name: str, interval: int) -> Watch:
    (tmp_path / name).mkdir()
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate(
            {"source": {"kind": "folder", "path": str(tmp_path / name)}, "interval_seconds": interval}
        )
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
        return watch


def change(runtime: Runtime, watch: Watch, **fields: object) -> None:
    with Session(runtime.db_engine) as session:
        stored = session.get(Watch, watch.id)
        if fields.pop("run_now", False):
            service.request_run(session, stored)
        if fields:
            service.update_watch(session, stored, WatchUpdate(**fields), WATCH_INTERVALS)
        session.commit()


def test_new_watches_are_picked_up_and_run(runtime, tmp_path, scheduler, recorder) -> None:
    fast = add_folder_watch(runtime, tmp_path, "fast", interval=1)
    wait_for(lambda: recorder.runs[fast.id] >= 2, timeout=10, what="two runs of a 1 s watch")
    assert str(fast.id) in scheduler.watch_job_ids


def test_run_now_runs_a_slow_watch_at_once(runtime, tmp_path, scheduler, recorder) -> None:
    slow = add_folder_watch(runtime, tmp_path, "slow", interval=3600)
    wait_for(lambda: recorder.runs[slow.id] == 1, what="the first run of a new watch")
    change(runtime, slow, run_now=True)
    wait_for(lambda: recorder.runs[slow.id] == 2, what="the requested run")
    wait_for(lambda: not _requested(runtime, slow), what="the request to be cleared (committed after the job is moved)")


def test_paused_watches_stop_and_resumed_ones_restart(runtime, tmp_path, scheduler, recorder) -> None:
    watch = add_folder_watch(runtime, tmp_path, "pausable", interval=3600)
    wait_for(lambda: str(watch.id) in scheduler.watch_job_ids, what="the job")
    change(runtime, watch, enabled=False)
    wait_for(lambda: str(watch.id) not in scheduler.watch_job_ids, what="the job to be removed")
    change(runtime, watch, enabled=True)
    wait_for(lambda: str(watch.id) in scheduler.watch_job_ids, what="the job to come back")


def test_one_watch_never_runs_twice_at_once(runtime, tmp_path, scheduler, recorder) -> None:
    recorder.release.clear()
    watch = add_folder_watch(runtime, tmp_path, "slow_run", interval=1)
    wait_for(lambda: recorder.running == 1, what="a run in progress")
    change(runtime, watch, run_now=True)
    wait_for(lambda: not _requested(runtime, watch), what="the run-now request to be taken")
    assert recorder.most_at_once == 1
    recorder.release.set()
    wait_for(lambda: recorder.runs[watch.id] >= 1, what="the run to finish")
    assert recorder.most_at_once == 1


def _requested(runtime: Runtime, watch: Watch) -> bool:
    with Session(runtime.db_engine) as session:
        return session.get(Watch, watch.id).run_requested


def test_interval_change_is_followed(runtime, tmp_path, scheduler, recorder) -> None:
    watch = add_folder_watch(runtime, tmp_path, "retimed", interval=3600)
    wait_for(lambda: str(watch.id) in scheduler.watch_job_ids, what="the job")
    change(runtime, watch, interval_seconds=1)
    wait_for(lambda: recorder.runs[watch.id] >= 3, timeout=10, what="runs at the new interval")


def test_shutdown_during_a_sync_waits_for_it_and_returns(runtime: Runtime) -> None:
    """APScheduler's shutdown holds its job store lock while it waits for running jobs, and a sync asks the job store
    for its jobs: a sync caught mid-way by a shutdown (SIGTERM to `impwatch serve`) once hung the process for good."""
    reading, go_on = threading.Event(), threading.Event()

    def hold_the_sync(connection, cursor, statement, parameters, context, executemany) -> None:
        if threading.current_thread() is not threading.main_thread() and "FROM watch" in statement:
            reading.set()
            go_on.wait(timeout=30)

    scheduler = WatchScheduler(runtime.db_engine, RecordingRun(), sync_seconds=3600, jitter_seconds=0)
    sa.event.listen(runtime.db_engine, "before_cursor_execute", hold_the_sync)
    try:
        scheduler.start()
        assert reading.wait(timeout=10), "the first sync reads the watch table"
        stopping = threading.Thread(target=scheduler.shutdown)
        stopping.start()
        stopping.join(timeout=0.5)  # long enough for a shutdown to take the job store lock; it must wait instead
        assert stopping.is_alive(), "shutdown waits for the running sync"
        go_on.set()
        stopping.join(timeout=10)
        assert not stopping.is_alive(), "shutdown returned once the sync ended"
    finally:
        go_on.set()
        sa.event.remove(runtime.db_engine, "before_cursor_execute", hold_the_sync)
