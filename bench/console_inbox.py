"""Benchmark: the console's alerts inbox with 10,000 alerts, against the plain API page `GET /v1/alerts` as baseline.

A SQLite database built by the migrations gets one organisation, four people and 10,000 alerts of every kind and tier
(each with an occurrence on one of 20 channels); a real uvicorn server on loopback serves the app. Server time is
measured in the app itself (an ASGI middleware timing each request from its first byte in to its last byte out), so
the client's work is left out; the medians of `--repeats` requests are printed for the inbox unfiltered, filtered
(kind, tier, status and channel), and the API's page of 50, with the ratio to the API.

    .venv/bin/python bench/console_inbox.py [--alerts N] [--repeats N] [--max-ms MS]

Exits 1 when the unfiltered inbox's median is over `--max-ms` (300).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import db  # noqa: E402
from app.alerts.models import ALERT_KINDS, ALERT_TIERS, Alert, AlertOccurrence  # noqa: E402
from app.auth import service as auth  # noqa: E402
from app.main import create_app  # noqa: E402
from app.runtime import Runtime  # noqa: E402
from app.settings import Settings  # noqa: E402
from core.clock import utcnow  # noqa: E402
from watchers.models import Post, Watch  # noqa: E402
from watchlist.models import Person  # noqa: E402

CHANNELS = 20


def fill(runtime: Runtime, count: int) -> tuple[str, str]:
    """The alerts, and a console session token and an API key of one press office's member."""
    from sqlmodel import Session

    now = utcnow()
    with Session(runtime.db_engine) as session:
        organization = auth.create_organization(session, "Bench press office")
        people = [Person(display_name=f"Person {index}", organization_id=organization.id) for index in range(4)]
        watch = Watch(kind="tme_preview", target="bench", config={"kind": "tme_preview", "channel": "bench"})
        session.add_all([*people, watch])
        session.flush()
        posts, alerts, occurrences = [], [], []
        for index in range(count):
            post_id, alert_id = uuid.uuid4(), uuid.uuid4()
            when = now - timedelta(seconds=index * 30)
            channel = f"channel_{index % CHANNELS}"
            kind = ALERT_KINDS[index % len(ALERT_KINDS)]
            posts.append({"id": post_id, "watch_id": watch.id, "channel": channel, "message_id": index,
                          "permalink": f"https://t.me/{channel}/{index}", "posted_at": when, "text": "",
                          "urls": [], "phone_entities": [], "preview": "", "created_at": when})  # fmt: skip
            evidence = {"kind": kind, "sha256": f"{index:064x}", "media_kind": "photo", "best_distance": 0.4,
                        "number": "+77010000000", "name": "Person", "domain": "examp1e.kz", "resembles": "example.kz",
                        "reason": "homoglyph"}  # fmt: skip
            alerts.append({"id": alert_id, "kind": kind, "person_id": people[index % 4].id, "subject_key": str(index),
                           "evidence": evidence, "tier": ALERT_TIERS[index % 2], "priority": "normal",
                           "status": "new" if index % 3 else "dismissed", "official_only": False,
                           "occurrences_count": 1, "first_seen_at": when, "last_seen_at": when, "created_at": when,
                           "updated_at": when, "corroborated_by": [], "campaign_terms": []})  # fmt: skip
            occurrences.append({"id": uuid.uuid4(), "alert_id": alert_id, "post_id": post_id, "watch_id": watch.id,
                                "channel": channel, "permalink": f"https://t.me/{channel}/{index}",
                                "posted_at": when, "official": False, "created_at": when})  # fmt: skip
        session.execute(sa.insert(Post), posts)
        session.execute(sa.insert(Alert), alerts)
        session.execute(sa.insert(AlertOccurrence), occurrences)
        user, _ = auth.create_user(session, "bench@example.org", "org_member", organization.id)
        _, token = auth.open_session(session, user, timedelta(hours=1), now)
        key = auth.issue_key(session, "org_member", organization.id, "bench").plaintext
        session.commit()
    return token, key


class ServerTimes:
    """ASGI middleware: how long the app took for each request, by path and query."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.times.append((time.perf_counter() - started) * 1000)


def serve(app: ServerTimes) -> tuple[uvicorn.Server, str]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def median_ms(client: httpx.Client, timed: ServerTimes, path: str, repeats: int, **options: object) -> float:
    client.get(path, **options).raise_for_status()  # warm the caches once
    timed.times.clear()
    for _ in range(repeats):
        answer = client.get(path, **options)
        assert answer.status_code == 200, answer.text[:300]
    return statistics.median(timed.times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--max-ms", type=float, default=300.0)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), face_workers=0, scheduler_enabled=False)
        db.upgrade(settings.resolved_database_url)
        runtime = Runtime.from_settings(settings)
        token, key = fill(runtime, options.alerts)
        timed = ServerTimes(create_app(runtime))
        server, base_url = serve(timed)
        try:
            with httpx.Client(base_url=base_url, timeout=60) as client:
                console = {"cookies": {"iw_session": token}}
                inbox = median_ms(client, timed, "/alerts", options.repeats, **console)
                filtered_path = "/alerts?kind=face_match&tier=match&status=new&channel=channel_4"
                filtered = median_ms(client, timed, filtered_path, options.repeats, **console)
                bearer = {"headers": {"Authorization": f"Bearer {key}"}}
                api = median_ms(client, timed, "/v1/alerts", options.repeats, **bearer)
        finally:
            server.should_exit = True
            runtime.close()
    print(f"{options.alerts} alerts, median of {options.repeats} requests, server time:")
    print(f"  GET /alerts (console inbox, 50 rows)   {inbox:7.1f} ms   x{inbox / api:.2f} of the API")
    print(f"  GET /alerts filtered (4 filters)       {filtered:7.1f} ms   x{filtered / api:.2f} of the API")
    print(f"  GET /v1/alerts (API page of 50)        {api:7.1f} ms   baseline")
    if inbox > options.max_ms:
        print(f"the inbox took {inbox:.1f} ms, over {options.max_ms:.0f} ms")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
