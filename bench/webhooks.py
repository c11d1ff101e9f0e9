"""Benchmark: webhook delivery from the outbox to a local receiver, with the dispatcher scheduled as in `serve`.

    .venv/bin/python bench/webhooks.py [--alerts N] [--rate R] [--seconds S] [--dispatch-seconds D]
                                       [--database-url URL]

1. Throughput: `--alerts` (1000) alerts are committed first (a backlog, as after a receiver outage), then the
   dispatcher starts and drains the outbox; alerts delivered per second = alerts / (last arrival - start).
2. Latency: alerts are committed one at a time, `--rate` (20) a second for `--seconds` (15), while the dispatcher
   runs every `--dispatch-seconds` (the setting's default, 1.0); latency = arrival at the receiver - the commit of
   the alert's transaction. Median, p99 and max.

Alerts are raised through `app.alerts.service.record_detections` (the watch pipeline's hook; the face work is left out),
the dispatcher is registered with `app.scheduling.register_webhook_dispatcher` on a `WatchScheduler`, and the receiver
(a ThreadingHTTPServer on 127.0.0.1) checks every signature with the `standardwebhooks` package. The database is a
fresh SQLite file unless `--database-url` names an empty PostgreSQL database.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlmodel import Session
from standardwebhooks import Webhook

from app import db
from app.alerts import service as alert_service
from app.auth.models import Organization
from app.runtime import Runtime
from app.scheduling import register_webhook_dispatcher
from app.settings import Settings
from app.webhooks import service as webhook_service
from app.webhooks.jobs import WebhookDispatcher
from app.webhooks.schemas import EndpointCreate
from watchers.models import Detection, MediaAnalysis, MediaItem, Post, Watch
from watchers.scheduler import WatchScheduler
from watchlist.models import Person


class Receiver:
    """Answers 200 to every POST after verifying it; records when each alert arrived (time.perf_counter)."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrivals: dict[str, float] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                arrived = time.perf_counter()
                try:
                    event = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                    with receiver.lock:
                        receiver.arrivals.setdefault(event["data"]["alert"]["id"], arrived)
                except Exception:
                    with receiver.lock:
                        receiver.bad_signatures += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        return Handler


class AlertSource:
    """Raises alerts of one person through the alerts hook, one transaction each, as the watch pipeline does."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.serial = 0
        with Session(runtime.db_engine, expire_on_commit=False) as session:
            self.organization = Organization(name=f"Bench press office {uuid.uuid4().hex[:8]}")
            session.add(self.organization)
            self.person = Person(display_name="Barack Obama", organization_id=self.organization.id)
            self.watch = Watch(kind="tme_preview", target=f"bench_channel_{uuid.uuid4().hex[:8]}", enabled=False)
            session.add(self.person)
            session.add(self.watch)
            session.commit()

    def raise_one(self) -> tuple[str, float]:
        """Commit one new alert; its id and the time.perf_counter() just after the commit."""
        self.serial += 1
        sha256 = hashlib.sha256(f"bench-{self.serial}-{time.time_ns()}".encode()).hexdigest()
        with Session(self.runtime.db_engine) as session:
            post = Post(
                watch_id=self.watch.id,
                channel="bench_channel",
                message_id=self.serial,
                permalink=f"https://t.me/bench_channel/{self.serial}",
                posted_at=datetime.now(UTC),
            )
            item = MediaItem(post_id=post.id, kind="photo", locator="photo", sha256=sha256, status="done")
            analysis = MediaAnalysis(sha256=sha256, kind="photo", size=1, width=640, height=480, faces_found=1)
            detection = Detection(sha256=sha256, person_id=self.person.id, distance=0.3, box={}, crop_jpeg=b"\xff\xd8")
            for row in (post, item, analysis, detection):
                session.add(row)
                session.flush()
            [signal] = alert_service.face_signals(session, item, [detection])
            alert = alert_service.record_signal(
                session, signal, post, public_base_url=self.runtime.settings.public_base_url
            )
            alert_id = str(alert.id)
            session.commit()
        return alert_id, time.perf_counter()


def make_runtime(folder: Path, database_url: str, dispatch_seconds: float) -> Runtime:
    settings = Settings(
        data_dir=folder / "data",
        database_url=database_url,
        face_workers=0,
        webhook_dispatch_seconds=dispatch_seconds,
        scheduler_sync_seconds=60,
        webhook_allow_private_urls=True,
    )
    db.upgrade(settings.resolved_database_url)
    return Runtime.from_settings(settings)


def add_endpoint(runtime: Runtime, receiver: Receiver, source: AlertSource) -> None:
    """The receiver as an endpoint of the organisation whose person the alerts are about."""
    with Session(runtime.db_engine) as session:
        _, receiver.secret = webhook_service.create_endpoint(
            session, source.organization.id, EndpointCreate(url=receiver.url), runtime.webhook_url_policy
        )
        session.commit()


def start_dispatcher(runtime: Runtime) -> tuple[WatchScheduler, WebhookDispatcher]:
    scheduler = WatchScheduler(runtime.db_engine, lambda _watch_id: None, sync_seconds=60, jitter_seconds=0)
    dispatcher = register_webhook_dispatcher(scheduler, runtime)
    scheduler.start()
    return scheduler, dispatcher


def wait_until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out: not every alert was delivered")
        time.sleep(0.005)


def throughput(runtime: Runtime, count: int) -> dict[str, float]:
    receiver, source = Receiver(), AlertSource(runtime)
    add_endpoint(runtime, receiver, source)
    for _ in range(count):
        source.raise_one()
    started = time.perf_counter()
    scheduler, dispatcher = start_dispatcher(runtime)
    try:
        wait_until(lambda: receiver.count() >= count, timeout=600)
    finally:
        scheduler.shutdown()
        dispatcher.close()
    elapsed = max(receiver.arrivals.values()) - started
    return {"alerts": count, "seconds": elapsed, "per_second": count / elapsed, "bad": receiver.bad_signatures}


def latency(runtime: Runtime, rate: float, seconds: float) -> dict[str, float]:
    receiver, source = Receiver(), AlertSource(runtime)
    add_endpoint(runtime, receiver, source)
    scheduler, dispatcher = start_dispatcher(runtime)
    committed: dict[str, float] = {}
    try:
        next_at = time.perf_counter()
        for _ in range(int(rate * seconds)):
            time.sleep(max(0.0, next_at - time.perf_counter()))
            alert_id, at = source.raise_one()
            committed[alert_id] = at
            next_at += 1 / rate
        wait_until(lambda: receiver.count() >= len(committed), timeout=120)
    finally:
        scheduler.shutdown()
        dispatcher.close()
    waits = sorted(receiver.arrivals[alert_id] - at for alert_id, at in committed.items())
    return {
        "alerts": len(waits),
        "median_ms": statistics.median(waits) * 1000,
        "p99_ms": waits[max(0, int(len(waits) * 0.99) - 1)] * 1000,
        "max_ms": waits[-1] * 1000,
        "bad": receiver.bad_signatures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--dispatch-seconds", type=float, default=1.0)
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        runtime = make_runtime(Path(folder), args.database_url, args.dispatch_seconds)
        try:
            drained = throughput(runtime, args.alerts)
            steady = latency(runtime, args.rate, args.seconds)
        finally:
            runtime.close()
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(json.dumps({"throughput": drained, "latency": steady}), file=sys.stderr)
    print(f"\nWebhook delivery, {database}, one endpoint, dispatcher every {args.dispatch_seconds} s\n")
    print("| Measure | Result |")
    print("|---|---|")
    print(
        f"| Backlog of {drained['alerts']} alerts drained | {drained['seconds']:.2f} s: "
        f"**{drained['per_second']:.0f} alerts/s** |"
    )
    print(
        f"| Commit → delivery, {steady['alerts']} alerts at {args.rate:g}/s | median **{steady['median_ms']:.0f} ms**, "
        f"p99 **{steady['p99_ms']:.0f} ms**, max {steady['max_ms']:.0f} ms |"
    )
    print(f"| Signatures refused by `standardwebhooks` | {drained['bad'] + steady['bad']} |")


if __name__ == "__main__":
    main()
