"""Benchmark: the text hook of a watch run (`app.alerts.text.record_text_signals` and its commit), per post.

A fresh SQLite database migrated to head, `--people` (1,000) people each with a full name in Cyrillic, a mobile number
and a site; `--posts` (2,000) posts of channel news in Russian and Kazakh, one in `--signal-every` (50) carrying a
watched person's number (the rest: dates, amounts, a given name alone, an unrelated link). Each post is stored and
committed first, as the watch run does, then the hook is timed with its commit: the text watchlist from its cache,
the matchers, and the alert and occurrence rows when something is found. Printed: median, p95 and mean per post.

    .venv/bin/python -m bench.text_hook [--people N] [--posts N] [--signal-every N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from app import db
from app.alerts.text import record_text_signals
from watchers.models import Post, Watch
from watchlist.models import Person
from watchlist.service import TextWatchlistCache
from watchlist.text import registrable_domain

GIVEN = ["Айгерим", "Дина", "Ерлан", "Асель", "Нурлан", "Гульнара", "Марат", "Жанна", "Серик", "Алия"]
SURNAMES = ["Нұртілеу", "Ержанова", "Сатыбалды", "Касымов", "Ахметова", "Бекова", "Жумабаев", "Омарова", "Ибраев"]
NEWS = [
    "Все на марш 1 мая! Сбор у акимата в 10:00, взнос 5000 тг.",
    "Өлмес полк шеруі 9 мамырда өтеді, барлығын шақырамыз!",
    "Погода: завтра +25, ветер 5 м/с. Подробнее на https://weather.kz/almaty",
    "Айгерим, привет! Встречаемся в 18:00 у входа.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--signal-every", type=int, default=50)
    args = parser.parse_args()
    url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    db.upgrade(url)
    engine = db.make_engine(url)
    rng = random.Random(7)
    with Session(engine, expire_on_commit=False) as session:
        for number in range(args.people):
            name = f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}{number}"
            session.add(Person(display_name=name, phone_numbers=[f"+7701{number:07d}"], websites=[f"site{number}.kz"]))
        watch = Watch(kind="tme_preview", target="bench", config={})
        session.add(watch)
        session.commit()
        cache = TextWatchlistCache("KZ")
        registrable_domain("orda.kz")  # the matchers' libraries and the suffix list are loaded before the timing
        started = time.perf_counter()
        cache.get(session)
        print(f"text watchlist of {args.people} people built in {time.perf_counter() - started:.2f} s")
        times = []
        for number in range(args.posts):
            text = rng.choice(NEWS)
            if number % args.signal_every == 0:
                text += f" Звоните: 8 701 {rng.randrange(args.people):07d}"
            post = Post(
                watch_id=watch.id,
                channel="bench",
                message_id=number,
                permalink=f"https://t.me/bench/{number}",
                posted_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=number),
                text=text,
            )
            session.add(post)
            session.commit()
            started = time.perf_counter()
            record_text_signals(session, post, watchlists=cache, public_base_url="")
            session.commit()
            times.append(time.perf_counter() - started)
    engine.dispose()
    times.sort()
    median, p95, mean = statistics.median(times), times[int(len(times) * 0.95)], statistics.mean(times)
    print(
        f"{len(times)} posts, one in {args.signal_every} with a signal: median {median * 1000:.2f} ms, "
        f"p95 {p95 * 1000:.2f} ms, mean {mean * 1000:.2f} ms a post"
    )


if __name__ == "__main__":
    main()
