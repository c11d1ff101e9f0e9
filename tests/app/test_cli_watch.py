"""`impwatch watch ...` and `impwatch alerts list`, run in this process (tests/impwatch.py), on a drop folder."""

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from app.db import make_engine
from tests.impwatch import Ran, run
from tests.support import fixture_path
from watchers.models import Watch


def test_watch_a_folder_run_it_and_list_alerts(tmp_path: Path) -> None:
    assert run(tmp_path, "person", "add", "Barack Obama", "--photo", str(fixture_path("obama.jpg"))).returncode == 0
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(fixture_path("two_people.jpg"), inbox / "forwarded.jpg")
    shutil.copy(fixture_path("kit1.jpg"), inbox / "other.jpg")

    added = run(tmp_path, "watch", "add", "folder", str(inbox), "--interval", "60", "--settle-seconds", "0")
    assert added.returncode == 0, added.stderr
    watch_id = added.stdout.split("(")[-1].split(")")[0]
    assert run(tmp_path, "watch", "add", "folder", str(inbox)).returncode == 1, "the same folder twice is refused"

    ran = run(tmp_path, "watch", "run", watch_id)
    assert ran.returncode == 0, ran.stderr
    assert "posts stored: 2" in ran.stdout

    listed = run(tmp_path, "alerts", "list", "--json")
    [alert] = [json.loads(line) for line in listed.stdout.splitlines()]
    assert alert["person_name"] == "Barack Obama" and alert["permalinks"][0].startswith("file://")
    assert "Barack Obama" in run(tmp_path, "alerts", "list").stdout
    tiers = {tier: run(tmp_path, "alerts", "list", "--json", "--tier", tier).stdout for tier in ("match", "possible")}
    assert [json.loads(line)["id"] for line in tiers[alert["tier"]].splitlines()] == [alert["id"]]
    assert [other for tier, other in tiers.items() if tier != alert["tier"]] == [""]
    assert alert["tier"] in run(tmp_path, "alerts", "list").stdout

    assert run(tmp_path, "watch", "pause", watch_id).returncode == 0
    assert " no " in run(tmp_path, "watch", "list").stdout
    assert run(tmp_path, "watch", "remove", watch_id).returncode == 0
    assert watch_id not in run(tmp_path, "watch", "list").stdout


def test_watch_commands_refuse_bad_input(tmp_path: Path) -> None:
    bad_kind = run(tmp_path, "watch", "add", "rss", "https://example.org/feed")
    assert bad_kind.returncode == 2 and "kind" in bad_kind.stderr
    assert run(tmp_path, "watch", "run", "00000000-0000-0000-0000-000000000000").returncode == 1
    assert run(tmp_path, "alerts", "list", "--status", "maybe").returncode == 2
    assert run(tmp_path, "alerts", "list", "--tier", "maybe").returncode == 2


def test_watch_add_refuses_a_setting_the_kind_does_not_have(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()

    refused = run(tmp_path, "watch", "add", "folder", str(inbox), "--channel", "press_office")

    assert refused.returncode == 2
    assert "unknown setting 'channel' for a folder source" in refused.stderr
    assert str(inbox) not in run(tmp_path, "watch", "list").stdout


def stored_watches(tmp_path: Path) -> list[Watch]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'impwatch.db'}")
    try:
        with Session(engine) as session:
            return list(session.exec(select(Watch)))
    finally:
        engine.dispose()


def test_watch_add_refuses_an_interval_under_the_minimum(impwatch: Callable[..., Ran], tmp_path: Path) -> None:
    refused = impwatch("watch", "add", "folder", str(tmp_path), "--interval", "1")
    assert refused.returncode == 2
    assert "interval_seconds must be at least 30" in refused.stderr
    assert stored_watches(tmp_path) == []

    every_second = {"IMPWATCH_MIN_WATCH_INTERVAL_SECONDS": "1"}
    allowed = impwatch("watch", "add", "folder", str(tmp_path), "--interval", "1", settings=every_second)
    assert allowed.returncode == 0 and "every 1 s" in allowed.stdout, "the minimum is the operator's setting"
    assert [watch.interval_seconds for watch in stored_watches(tmp_path)] == [1]


def test_watch_add_since_takes_a_date_or_a_span_back_from_now(tmp_path: Path) -> None:
    dated = run(tmp_path, "watch", "add", "tme_preview", "kz_news_fake", "--since", "2026-11-01")
    assert dated.returncode == 0, dated.stderr
    assert "history back to 2026-11-01 00:00 UTC" in dated.stdout
    span = run(tmp_path, "watch", "add", "tme_preview", "second_channel", "--since", "7d")
    assert span.returncode == 0, span.stderr
    refused = run(tmp_path, "watch", "add", "tme_preview", "third_channel", "--since", "last week")
    assert refused.returncode == 2 and "neither an ISO 8601 date" in refused.stderr

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'impwatch.db'}")
    with Session(engine) as session:
        since = {watch.target: watch.since for watch in session.exec(select(Watch))}
    engine.dispose()
    assert set(since) == {"kz_news_fake", "second_channel"}
    assert (since["kz_news_fake"].isoformat(), since["kz_news_fake"].tzinfo is not None) == (
        "2026-11-01T00:00:00+00:00",
        True,
    )
    assert 6.9 < (datetime.now(UTC) - since["second_channel"]).total_seconds() / 86400 < 7.1


def test_channels_candidates_lists_where_posts_point_and_watch_takes_one(tmp_path: Path) -> None:
    from tests.watchers.sources.export_builder import Message, at, build_export

    folder = build_export(
        tmp_path / "export",
        [
            Message(
                2, at(2024, 3, 1, 9, 0), text="Details: https://t.me/real_source_kz/77", forwarded_from="Fake News"
            ),
            Message(3, at(2024, 3, 1, 9, 5), text="Again t.me/real_source_kz and @another_source"),
        ],
    )
    added = run(tmp_path, "watch", "add", "telegram_export", str(folder))
    assert run(tmp_path, "watch", "run", added.stdout.split("(")[-1].split(")")[0]).returncode == 0

    listed = run(tmp_path, "channels", "candidates", "--json")

    assert listed.returncode == 0, listed.stderr
    rows = {row["username"] or row["name"]: row for row in map(json.loads, listed.stdout.splitlines())}
    assert (rows["real_source_kz"]["posts_count"], rows["real_source_kz"]["links_count"]) == (2, 2)
    assert set(rows) == {"real_source_kz", "another_source", "Fake News"}
    assert "@real_source_kz" in run(tmp_path, "channels", "candidates").stdout
    watched = run(tmp_path, "channels", "watch", "@real_source_kz", "--since", "30d")
    assert watched.returncode == 0, watched.stderr
    assert "watching tme_preview real_source_kz" in watched.stdout
    assert run(tmp_path, "channels", "watch", "@real_source_kz").returncode == 1, "already watched"


def test_watch_list_says_what_was_not_analysed(tmp_path: Path) -> None:
    from tests.watchers.sources.export_builder import Message, at, build_export, photo

    folder = build_export(tmp_path / "export", [Message(2, at(2024, 3, 1), text="no file", media=photo(None))])
    added = run(tmp_path, "watch", "add", "telegram_export", str(folder))
    assert run(tmp_path, "watch", "run", added.stdout.split("(")[-1].split(")")[0]).returncode == 0

    listed = run(tmp_path, "watch", "list")

    assert "awaiting" in listed.stdout, listed.stdout
