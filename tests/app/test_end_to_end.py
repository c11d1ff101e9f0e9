"""`impwatch serve` as a real process watching a local t.me preview server; killed and restarted mid-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from app import db
from app.runtime import Runtime
from app.settings import Settings
from tests.factories import api_key, bearer, enrol_person
from tests.support import fixture_bytes, free_port, wait_for
from tests.watchers.sources.tme_pages import ChannelServer
from watchers.models import MediaItem, MediaStatus, Post, Watch
from watchers.schemas import WatchCreate
from watchers.service import WatchIntervals, create_watch

ROOT = Path(__file__).resolve().parents[2]


class ServeProcess:
    """`impwatch serve` in a child process; `api` is a press office administrator's client, `operator_api` the
    operator's (keys made in the database beforehand, as `impwatch key create` would)."""

    def __init__(self, env: dict[str, str], port: int, log: Path, runtime: Runtime) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None
        base_url = f"http://127.0.0.1:{port}"
        self.api = httpx.Client(base_url=base_url, timeout=30, headers=bearer(api_key(runtime, "org_admin")))
        self.operator_api = httpx.Client(base_url=base_url, timeout=30, headers=bearer(api_key(runtime, "operator")))

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._ready, timeout=60, interval=0.2, what="impwatch serve to be ready")

    def _ready(self) -> bool:
        assert self.process is not None and self.process.poll() is None, self.log.read_text()[-3000:]
        try:
            return self.api.get("/readyz").status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL, as when the machine or the container goes down: the server and its face workers at once (the
        server has a process group of its own; killed alone, it would leave its workers running)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self.api.close()
        self.operator_api.close()


def service_env(data_dir: Path, channels: ChannelServer, **settings: str) -> dict[str, str]:
    """The environment of an `impwatch` process on `data_dir`, watching `channels`, with quick scheduler ticks."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("IMPWATCH_")},
        "PYTHONPATH": str(ROOT),
        "IMPWATCH_DATA_DIR": str(data_dir),
        "IMPWATCH_TME_BASE_URL": channels.base_url,
        "IMPWATCH_SCHEDULER_SYNC_SECONDS": "0.5",
        "IMPWATCH_SCHEDULER_JITTER_SECONDS": "0",
        "IMPWATCH_MIN_WATCH_INTERVAL_SECONDS": "1",
        "IMPWATCH_FACE_WORKERS": "1",
        **{f"IMPWATCH_{name.upper()}": value for name, value in settings.items()},
    }


def alerts(api: httpx.Client) -> list[dict]:
    return api.get("/v1/alerts").json()["items"]


def test_serve_watches_channels_raises_alerts_and_survives_a_kill(tmp_path: Path, channels: ChannelServer) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, face_workers=0)
    db.upgrade(settings.resolved_database_url)
    runtime = Runtime.from_settings(settings)
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    enrol_person(runtime, "Lin-Manuel Miranda", "lmm1.png")
    server = ServeProcess(service_env(data_dir, channels), free_port(), tmp_path / "serve.log", runtime)
    channels.add_channel("kz_news_fake")
    channels.add_channel("second_channel")
    try:
        server.start()
        for channel in ("kz_news_fake", "second_channel"):
            created = server.operator_api.post(
                "/v1/watches", json={"source": {"kind": "tme_preview", "channel": channel}, "interval_seconds": 1}
            )
            assert created.status_code == 201, created.text

        channels.add_post("kz_news_fake", "Sign a military contract!", photo=fixture_bytes("obama2.jpg"))
        channels.add_post("kz_news_fake", "Biden", photo=fixture_bytes("biden.jpg"))
        channels.add_post("kz_news_fake", "Kit", photo=fixture_bytes("kit1.jpg"))
        [alert] = wait_for(lambda: alerts(server.api), timeout=60, what="the Obama alert")
        assert alert["person_id"] == str(obama.id) and alert["occurrences_count"] == 1
        wait_for(lambda: _posts_stored(runtime) == 3, timeout=60, what="all three posts")
        assert len(alerts(server.api)) == 1, "nobody else is reported"
        assert watch_runs(server.operator_api.get("/metrics").text) >= 1, "serve runs the watches itself"

        channels.add_post("second_channel", "reposted", photo=fixture_bytes("obama2.jpg"))
        wait_for(lambda: alerts(server.api)[0]["occurrences_count"] == 2, timeout=60, what="the repost")
        detail = server.api.get(f"/v1/alerts/{alert['id']}").json()
        assert sorted(o["permalink"] for o in detail["occurrences"]) == [
            "https://t.me/kz_news_fake/1",
            "https://t.me/second_channel/1",
        ]
        assert server.api.get(detail["evidence"]["crop_url"]).content.startswith(b"\xff\xd8")

        server.kill()
        channels.add_post("kz_news_fake", "published while down", photo=fixture_bytes("obama4.jpg"))
        server.start()

        wait_for(lambda: len(alerts(server.api)) == 2, timeout=60, what="the post published while down")
        wait_for(lambda: _posts_stored(runtime) == 5, timeout=60, what="every post stored once")
        latest, first = alerts(server.api)
        assert first["id"] == alert["id"] and first["occurrences_count"] == 2
        assert latest["person_id"] == str(obama.id) and latest["occurrences_count"] == 1

        campaign_start = datetime.now(UTC) - timedelta(days=30)
        channels.add_post(
            "campaign_origin", "the first fake", photo=fixture_bytes("obama-480p.jpg"), date=campaign_start
        )
        for day in range(1, 26):
            channels.add_post("campaign_origin", f"day {day}", date=campaign_start + timedelta(days=day))
        since = (campaign_start - timedelta(days=1)).isoformat()
        created = server.operator_api.post(
            "/v1/watches",
            json={
                "source": {"kind": "tme_preview", "channel": "campaign_origin"},
                "interval_seconds": 1,
                "since": since,
            },
        )
        assert created.status_code == 201, created.text
        wait_for(lambda: len(alerts(server.api)) == 3, timeout=60, what="the fake on an older page")
        traced = server.api.get(f"/v1/alerts/{alerts(server.api)[0]['id']}").json()
        assert [o["permalink"] for o in traced["occurrences"]] == ["https://t.me/campaign_origin/1"]
        history = wait_for(
            lambda: (
                (w := server.operator_api.get(f"/v1/watches/{created.json()['id']}").json())["history_complete"] and w
            ),
            timeout=60,
            what="the history to be read",
        )
        assert history["cursor"] == "26" and history["since"].startswith(since[:10])
    finally:
        server.stop()
        runtime.close()


def _posts_stored(runtime: Runtime) -> int:
    with Session(runtime.db_engine) as session:
        return len(session.exec(select(Post.id)).all())


def test_an_api_process_and_a_worker_process_share_the_work(tmp_path: Path, channels: ChannelServer) -> None:
    """The production layout: `impwatch serve` with its scheduler off answers the API; `impwatch worker` runs the
    watches; a watch made over the API is run by the worker, and SIGTERM stops the worker cleanly."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, face_workers=0)
    db.upgrade(settings.resolved_database_url)
    runtime = Runtime.from_settings(settings)
    obama = enrol_person(runtime, "Barack Obama", "obama.jpg")
    channels.add_channel("kz_news_fake")
    channels.add_post("kz_news_fake", "Join the march!", photo=fixture_bytes("obama2.jpg"))
    api = ServeProcess(
        service_env(data_dir, channels, scheduler_enabled="false"), free_port(), tmp_path / "api.log", runtime
    )
    log = tmp_path / "worker.log"
    worker: subprocess.Popen[bytes] | None = None
    try:
        api.start()
        watch = {"source": {"kind": "tme_preview", "channel": "kz_news_fake"}, "interval_seconds": 1}
        assert api.operator_api.post("/v1/watches", json=watch).status_code == 201
        metrics_port = free_port()
        with log.open("wb") as output:
            worker = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker"],
                env=service_env(data_dir, channels, worker_metrics_port=str(metrics_port)),
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        [alert] = wait_for(lambda: alerts(api.api), timeout=90, what="the worker to raise the Obama alert")
        assert alert["person_id"] == str(obama.id)
        assert watch_runs(api.operator_api.get("/metrics").text) == 0, "the API process runs no watch"
        assert watch_runs(httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text) >= 1, "the worker's metrics"

        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, log.read_text()
        assert "worker stopped" in log.read_text()
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        api.stop()
        runtime.close()


def watch_runs(metrics: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "impwatch_watch_runs"
        for sample in family.samples
        if sample.name == "impwatch_watch_runs_total"
    )


def face_workers(process: psutil.Process) -> list[psutil.Process]:
    """The face worker processes of a process's pool (multiprocessing's spawned children)."""
    try:
        return [child for child in process.children() if "spawn_main" in " ".join(child.cmdline())]
    except psutil.Error:
        return []


def test_sigterm_stops_a_busy_worker_and_its_face_workers_at_once(tmp_path: Path, channels: ChannelServer) -> None:
    """`impwatch worker` as a real process, its face worker busy with the first of eight videos (about 3 s each at
    10 frames a second): after SIGTERM the worker and every process it started are gone within 10 s, the run is cut
    short without being held against the watch, and the media not analysed yet waits for the next start."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, face_workers=0)
    db.upgrade(settings.resolved_database_url)
    runtime = Runtime.from_settings(settings)
    enrol_person(runtime, "Barack Obama", "obama.jpg")
    with Session(runtime.db_engine) as session:
        source = {"kind": "tme_preview", "channel": "kz_news_fake"}
        watch_id = create_watch(session, WatchCreate.model_validate({"source": source}), WatchIntervals(1, 1)).id
        session.commit()
    channels.add_channel("kz_news_fake")
    for number in range(8):
        channels.add_post("kz_news_fake", f"clip {number}", video=fixture_bytes("short_hamilton_clip.mp4"))
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            env=service_env(data_dir, channels, video_sample_fps="10"),
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        process = psutil.Process(worker.pid)

        def busy() -> list[psutil.Process]:
            assert worker.poll() is None, log.read_text()[-3000:]
            return face_workers(process)

        wait_for(busy, timeout=90, interval=0.05, what="the worker's face worker")
        started = process.children(recursive=True)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0, log.read_text()
        _, alive = psutil.wait_procs(started, timeout=5)
        assert not [child for child in alive if child.status() != psutil.STATUS_ZOMBIE], log.read_text()
        assert "worker stopped" in log.read_text()
        with Session(runtime.db_engine) as session:
            statuses = [item.status for item in session.exec(select(MediaItem))]
            stopped = session.get(Watch, watch_id)
        assert MediaStatus.PENDING in statuses and MediaStatus.FAILED not in statuses, statuses
        assert stopped is not None and stopped.consecutive_failures == 0 and not stopped.last_error
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        runtime.close()
