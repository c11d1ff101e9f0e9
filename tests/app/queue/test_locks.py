"""One scheduler at a time on PostgreSQL: a second `impwatch worker` waits as a standby and takes over when the
first one goes (SIGKILL: the server drops its session, and the lock with it); one consumer of the telegram queue; one
run of a watch at a time across consumers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlmodel import Session

from app.queue.locks import SCHEDULER_LOCK, AdvisoryLock, WatchRunLocks
from app.runtime import Runtime
from tests.app.queue.conftest import WorkerProcess, queue_depth
from tests.conftest import POSTGRES_URL, postgres_copy
from tests.factories import WATCH_INTERVALS
from tests.support import wait_for
from watchers import service
from watchers.schemas import WatchCreate

QUICK = {"scheduler_standby_seconds": "0.2", "scheduler_sync_seconds": "0.2", "scheduler_jitter_seconds": "0"}


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """PostgreSQL only: the locks are PostgreSQL's (on SQLite there is one machine and no lock); CI sets the URL."""
    if not POSTGRES_URL:
        pytest.skip("IMPWATCH_TEST_POSTGRES_URL is not set")
    with postgres_copy(request) as url:
        yield url


def test_a_standby_scheduler_takes_over_when_the_first_one_is_killed(
    make_runtime: Callable[..., Runtime], start_worker: Callable[..., WorkerProcess], queue_prefix: str
) -> None:
    runtime = make_runtime()
    with Session(runtime.db_engine) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "kz_news_fake"}})
        service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
    watches = f"{queue_prefix}watches"

    first = start_worker(**QUICK)
    first.wait_for_line("worker running: watches (watch runs enqueued on the broker)")
    wait_for(lambda: queue_depth(watches) == 1, what="the first scheduler to enqueue the watch's first run")
    second = start_worker(**QUICK)
    second.wait_for_line("standby: another scheduler holds the lock")
    assert "worker running" not in second.output()
    assert not AdvisoryLock(runtime.db_engine, SCHEDULER_LOCK).try_acquire()

    first.kill()
    second.wait_for_line("worker running: watches")
    wait_for(lambda: queue_depth(watches) == 2, what="the second scheduler to enqueue the watch's first run")
    assert second.terminate() == 0
    with AdvisoryLock(runtime.db_engine, SCHEDULER_LOCK) as taken:
        assert taken, "a scheduler that stops releases its lock"


def test_one_process_consumes_the_telegram_queue_and_a_second_waits(
    start_worker: Callable[..., WorkerProcess],
) -> None:
    first = start_worker("--queues", "telegram", **QUICK)
    first.wait_for_line("worker consuming telegram with 1 thread(s)")
    second = start_worker("--queues", "telegram", **QUICK)
    second.wait_for_line("standby: another process consumes the telegram queue")

    assert first.terminate() == 0
    second.wait_for_line("worker consuming telegram")


def test_a_watch_run_enqueued_while_one_is_going_elsewhere_is_dropped(make_runtime: Callable[..., Runtime]) -> None:
    runtime = make_runtime()
    watch_id = uuid.uuid4()
    here, elsewhere = WatchRunLocks(runtime.db_engine), WatchRunLocks(runtime.db_engine)  # two consumers
    runs: list[str] = []

    def run(_: uuid.UUID) -> None:
        runs.append("first")
        assert not elsewhere.run_alone(watch_id, lambda _: runs.append("overlapping"))
        assert elsewhere.run_alone(uuid.uuid4(), lambda _: runs.append("another watch"))

    assert here.run_alone(watch_id, run)
    assert elsewhere.run_alone(watch_id, lambda _: runs.append("next"))
    assert runs == ["first", "another watch", "next"]
