"""`impwatch worker --queues analyse` processes on the real RabbitMQ: a worker killed in the middle of an analysis,
its message delivered again to another, the analysis and the alert written once; a message delivered twice
changes nothing."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.alerts.models import Alert, AlertOccurrence
from app.queue.broker import BrokerExecutor
from app.runtime import Runtime
from app.scheduling import build_watch_runner
from tests.app.queue.conftest import RABBITMQ_URL, WorkerProcess
from tests.factories import WATCH_INTERVALS, enrol_person
from tests.impwatch import Ran
from tests.support import fixture_bytes, wait_for
from tests.watchers.sources.tme_pages import ChannelServer
from watchers import service
from watchers.jobs import RunReport
from watchers.models import Detection, MediaAnalysis, MediaItem, Watch
from watchers.schemas import WatchCreate


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], channels: ChannelServer, queue_prefix: str) -> Runtime:
    return make_runtime(tme_base_url=channels.base_url, broker_url=RABBITMQ_URL, broker_queue_prefix=queue_prefix)


def count(runtime: Runtime, table: type) -> int:
    with Session(runtime.db_engine) as session:
        return session.exec(select(sa.func.count()).select_from(table)).one()


def watch_of_a_fake(runtime: Runtime, channels: ChannelServer) -> Watch:
    """A t.me preview watch of a channel with one post: a photo of Obama."""
    channels.add_channel("kz_news_fake")
    channels.add_post("kz_news_fake", "Sign the contract today!", photo=fixture_bytes("obama_small.jpg"))
    with Session(runtime.db_engine, expire_on_commit=False) as session:
        data = WatchCreate.model_validate({"source": {"kind": "tme_preview", "channel": "kz_news_fake"}})
        watch = service.create_watch(session, data, WATCH_INTERVALS)
        session.commit()
        return watch


def test_a_worker_killed_mid_analysis_leaves_it_to_another_and_the_alert_is_written_once(
    runtime: Runtime, channels: ChannelServer, start_worker: Callable[..., WorkerProcess]
) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    watch = watch_of_a_fake(runtime, channels)
    runner = build_watch_runner(runtime)  # analysis through the broker: the sha256 on the analyse queue
    reports: list[RunReport] = []
    run = threading.Thread(target=lambda: reports.append(runner.run(watch.id)))

    first = start_worker("--queues", "analyse")
    first.wait_for_line("worker consuming analyse")
    run.start()
    try:
        first.wait_for_line(": started", timeout=60)
        second = start_worker("--queues", "analyse")
        first.kill()
        assert count(runtime, MediaAnalysis) == 0, "the first worker was killed before storing anything"
        second.wait_for_line(": stored", timeout=60)
    finally:
        run.join(timeout=60)

    [report] = reports
    assert report.error is None and report.media_analysed == 1
    assert ": started" in second.output()
    with Session(runtime.db_engine) as session:
        [alert] = session.exec(select(Alert)).all()
        [occurrence] = session.exec(select(AlertOccurrence)).all()
        [analysis] = session.exec(select(MediaAnalysis)).all()
    assert alert.person_id == obama.id and occurrence.alert_id == alert.id
    detections = count(runtime, Detection)

    runtime.task_queue.send_analysis(analysis.sha256)  # delivered again: nothing changes
    second.wait_for_line(": already stored")
    assert runner.run(watch.id).error is None
    assert (count(runtime, MediaAnalysis), count(runtime, Detection)) == (1, detections)
    assert (count(runtime, Alert), count(runtime, AlertOccurrence), count(runtime, MediaItem)) == (1, 1, 1)


def test_without_a_worker_the_run_fails_at_the_deadline_with_the_reason(
    make_runtime: Callable[..., Runtime], channels: ChannelServer, queue_prefix: str
) -> None:
    runtime = make_runtime(
        tme_base_url=channels.base_url,
        broker_url=RABBITMQ_URL,
        broker_queue_prefix=queue_prefix,
        broker_analysis_deadline_seconds=0.5,
    )
    watch = watch_of_a_fake(runtime, channels)

    report = build_watch_runner(runtime).run(watch.id)

    assert report.error is not None and "no analysis stored within 0.5 s" in report.error
    assert "impwatch worker --queues analyse" in report.error
    wait_for(lambda: count(runtime, MediaAnalysis) == 0)


def test_the_scheduler_enqueues_and_a_consumer_runs_the_watch_with_its_analysis(
    runtime: Runtime, channels: ChannelServer, start_worker: Callable[..., WorkerProcess]
) -> None:
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    watch_of_a_fake(runtime, channels)

    consumer = start_worker("--queues", "watches,analyse", tme_base_url=channels.base_url)
    scheduler = start_worker(scheduler_sync_seconds="0.2", scheduler_jitter_seconds="0")
    scheduler.wait_for_line("worker running: watches (watch runs enqueued on the broker)")

    wait_for(lambda: count(runtime, Alert) == 1, timeout=60, what="the consumer to raise the alert")
    with Session(runtime.db_engine) as session:
        [alert] = session.exec(select(Alert)).all()
    assert alert.person_id == obama.id
    assert "analyse " in consumer.output() and ": stored" in consumer.output()
    assert "analyse " not in scheduler.output(), "the scheduler only enqueues"


BROKER = {"IMPWATCH_BROKER_URL": RABBITMQ_URL}


@pytest.mark.parametrize(
    ("args", "settings", "message"),
    [
        (["--queues", "analyse"], {}, "--queues needs a broker: set IMPWATCH_BROKER_URL"),
        (["--queues", "analyse,faces"], BROKER, "unknown queue faces; the queues are analyse, watches, telegram"),
        (["--queues", ","], BROKER, "unknown queue (none given); the queues are analyse"),
    ],
)
def test_worker_refuses_queues_it_cannot_consume(
    impwatch: Callable[..., Ran], args: list[str], settings: dict[str, str], message: str
) -> None:
    ran = impwatch("worker", *args, settings=settings)
    assert ran.returncode == 2
    assert (message in ran.stderr and "analyse, watches, telegram" in ran.stderr) or not settings


@pytest.fixture
def redis_url(queue_prefix: str) -> Iterator[str]:
    """The real Redis on 127.0.0.1:6379; this test's keys (Dramatiq's, under the queue prefix) deleted after."""
    import redis

    url = "redis://127.0.0.1:6379/0"
    yield url
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"dramatiq:{queue_prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_on_redis_a_worker_analyses_what_is_enqueued(
    make_runtime: Callable[..., Runtime], start_worker: Callable[..., WorkerProcess], queue_prefix: str, redis_url: str
) -> None:
    runtime = make_runtime(broker_url=redis_url, broker_queue_prefix=queue_prefix)
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    sha256 = hashlib.sha256(fixture_bytes("obama_small.jpg")).hexdigest()
    kept = runtime.media_store.path_of(sha256)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(fixture_bytes("obama_small.jpg"))
    executor = BrokerExecutor(runtime.db_engine, runtime.task_queue, deadline_seconds=60)

    worker = start_worker("--queues", "analyse", broker_url=redis_url)
    assert executor.analyse(sha256) is True
    assert executor.analyse(sha256) is False  # stored already: not enqueued again
    assert count(runtime, Detection) == 1
    assert f"analyse {sha256}: stored" in worker.output()


def test_a_worker_without_the_shared_media_folder_says_so(
    runtime: Runtime, start_worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    worker = start_worker("--queues", "analyse", data_dir=str(tmp_path / "elsewhere"), broker_max_retries="0")
    worker.wait_for_line("worker consuming analyse")

    runtime.task_queue.send_analysis("ab" * 32)

    worker.wait_for_line("is not in this machine's media folder", timeout=60)
    assert "IMPWATCH_DATA_DIR/media (a shared volume)" in worker.output()
    assert count(runtime, MediaAnalysis) == 0
