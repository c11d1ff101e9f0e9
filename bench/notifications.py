"""Benchmark: alert commit to Telegram message, through python-telegram-bot and the local Bot API stand-in of the
tests, beside the webhook delivery of the same alerts measured in the same run.

    .venv/bin/python -m bench.notifications [--rate R] [--seconds S] [--dispatch-seconds D] [--database-url URL]

One organisation has one webhook endpoint (the receiver of `bench/webhooks.py`, which checks every signature) and
one Telegram channel (a chat of the Bot API stand-in, `tests/app/notifications/bot_api.py`, a ThreadingHTTPServer
on 127.0.0.1 that parses each multipart `sendPhoto`). Alerts are committed one at a time, `--rate` (20) a second
on average (Poisson arrivals with a fixed seed, so neither dispatcher's tick is in step with them) for `--seconds`
(15), through `app.alerts.service` (the watch pipeline's hook), while both dispatchers run on a `WatchScheduler` as
in `impwatch serve`, each every `--dispatch-seconds` (the settings' default, 1.0). Latency = arrival (the receiver's
POST, the stand-in's `sendPhoto` with the crop) - the commit of the alert's transaction.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import Session

from app import db
from app.notifications import service as notification_service
from app.notifications.messages import parse_callback_data
from app.notifications.schemas import TelegramChannelCreate
from app.runtime import Runtime
from app.scheduling import register_webhook_dispatcher, registered_notifications
from app.settings import Settings
from bench.webhooks import AlertSource, Receiver, add_endpoint, wait_until
from tests.app.notifications.bot_api import TOKEN, BotApi
from watchers.scheduler import WatchScheduler

CHAT = -100777


def make_runtime(folder: Path, database_url: str, dispatch_seconds: float, bot_api: BotApi) -> Runtime:
    settings = Settings(
        data_dir=folder / "data",
        database_url=database_url,
        face_workers=0,
        webhook_dispatch_seconds=dispatch_seconds,
        notification_dispatch_seconds=dispatch_seconds,
        telegram_callback_poll_seconds=60,
        scheduler_sync_seconds=60,
        webhook_allow_private_urls=True,
        telegram_bot_api_base_url=bot_api.base_url,
        telegram_bot_file_base_url=bot_api.base_file_url,
    )
    db.upgrade(settings.resolved_database_url)
    return Runtime.from_settings(settings)


def add_channel(runtime: Runtime, source: AlertSource) -> None:
    with Session(runtime.db_engine) as session:
        data = TelegramChannelCreate(kind="telegram", bot_token=TOKEN, chat_id=CHAT, language="ru")
        notification_service.create_channel(session, source.organization.id, data)
        session.commit()


def telegram_arrivals(bot_api: BotApi) -> dict[str, float]:
    """When each alert's photo reached the stand-in, by alert id (read from its first button)."""
    found: dict[str, float] = {}
    for sent in bot_api.sent_by("sendPhoto"):
        parsed = parse_callback_data(sent.reply_markup["inline_keyboard"][0][0]["callback_data"])
        if parsed is not None:
            found.setdefault(str(parsed[0]), sent.at)
    return found


def summary(waits: list[float]) -> dict[str, float]:
    ordered = sorted(waits)
    return {
        "alerts": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def latency(runtime: Runtime, bot_api: BotApi, rate: float, seconds: float) -> dict[str, dict[str, float]]:
    receiver, source = Receiver(), AlertSource(runtime)
    add_endpoint(runtime, receiver, source)
    add_channel(runtime, source)
    scheduler = WatchScheduler(runtime.db_engine, lambda _watch_id: None, sync_seconds=60, jitter_seconds=0)
    webhooks = register_webhook_dispatcher(scheduler, runtime)
    committed: dict[str, float] = {}
    with registered_notifications(scheduler, runtime):
        scheduler.start()
        try:
            arrivals = random.Random(15)
            next_at = time.perf_counter()
            for _ in range(int(rate * seconds)):
                time.sleep(max(0.0, next_at - time.perf_counter()))
                alert_id, at = source.raise_one()
                committed[alert_id] = at
                next_at += arrivals.expovariate(rate)
            wait_until(lambda: receiver.count() >= len(committed), timeout=120)
            wait_until(lambda: len(telegram_arrivals(bot_api)) >= len(committed), timeout=120)
        finally:
            scheduler.shutdown()
            webhooks.close()
    telegram = telegram_arrivals(bot_api)
    return {
        "webhook": {
            **summary([receiver.arrivals[a] - at for a, at in committed.items()]),
            "bad": receiver.bad_signatures,
        },
        "telegram": summary([telegram[a] - at for a, at in committed.items()]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--dispatch-seconds", type=float, default=1.0)
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, BotApi() as bot_api:
        runtime = make_runtime(Path(folder), args.database_url, args.dispatch_seconds, bot_api)
        try:
            result = latency(runtime, bot_api, args.rate, args.seconds)
        finally:
            runtime.close()
    print(json.dumps(result), file=sys.stderr)
    webhook, telegram = result["webhook"], result["telegram"]
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\nCommit → delivery, {database}, {telegram['alerts']:.0f} alerts at {args.rate:g}/s, both dispatchers")
    print(f"every {args.dispatch_seconds} s (one webhook endpoint, one Telegram chat)\n")
    print("| Channel | Median | p99 | Max |")
    print("|---|---|---|---|")
    for name, row in (("Telegram (sendPhoto with the crop)", telegram), ("Webhook (signed POST)", webhook)):
        print(f"| {name} | **{row['median_ms']:.0f} ms** | **{row['p99_ms']:.0f} ms** | {row['max_ms']:.0f} ms |")
    print(
        f"| Telegram / webhook | **{telegram['median_ms'] / webhook['median_ms']:.2f}** | "
        f"**{telegram['p99_ms'] / webhook['p99_ms']:.2f}** | |"
    )
    print(f"\nSignatures refused by `standardwebhooks`: {webhook['bad']:.0f}")


if __name__ == "__main__":
    main()
