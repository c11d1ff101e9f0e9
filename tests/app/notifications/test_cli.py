"""`impwatch notify ...` run in this process (tests/impwatch.py) on a real SQLite file, sending to the Bot API
stand-in."""

from __future__ import annotations

import re
from pathlib import Path

from tests.app.notifications.bot_api import TOKEN, BotApi
from tests.impwatch import run


def test_add_test_list_disable_enable_and_remove(tmp_path: Path, bot_api: BotApi) -> None:
    bot = {"IMPWATCH_TELEGRAM_BOT_API_BASE_URL": bot_api.base_url}
    assert run(tmp_path, "org", "create", "Akimat press office").returncode == 0
    created = run(tmp_path, "notify", "add-telegram", "--token", TOKEN, "--language", "kk", "--", "-100500")
    assert created.returncode == 0, created.stderr
    channel_id = re.search(r"\(([0-9a-f-]{36})\)", created.stdout).group(1)  # type: ignore[union-attr]
    mail = run(tmp_path, "notify", "add-email", "desk@akimat.example.kz", "--kind", "face_match", "--tier", "match")
    assert mail.returncode == 0, mail.stderr

    bot_api.fail("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
    failed = run(tmp_path, "notify", "test", channel_id, settings=bot)
    assert failed.returncode == 1 and "retry" in failed.stderr and "Flood control" in failed.stderr
    retried = run(tmp_path, "notify", "test", channel_id, settings=bot)
    assert retried.returncode == 0 and "delivered" in retried.stdout, retried.stderr
    [message] = bot_api.sent_by("sendMessage")
    assert message.chat_id == -100500 and "тексеру" in message.params["text"]

    listing = run(tmp_path, "notify", "list")
    assert channel_id in listing.stdout and "desk@akimat.example.kz" in listing.stdout
    assert "face_match; match" in listing.stdout and TOKEN.split(":")[1] not in listing.stdout
    deliveries = run(tmp_path, "notify", "deliveries", channel_id)
    assert "retry" in deliveries.stdout and "delivered" in deliveries.stdout

    assert run(tmp_path, "notify", "disable", channel_id).returncode == 0
    refused = run(tmp_path, "notify", "test", channel_id, settings=bot)
    assert refused.returncode == 1 and "disabled" in refused.stderr
    assert run(tmp_path, "notify", "enable", channel_id).returncode == 0
    assert run(tmp_path, "notify", "remove", channel_id).returncode == 0
    assert run(tmp_path, "notify", "remove", channel_id).returncode == 1, "already removed"


def test_bad_input_exits_2(tmp_path: Path) -> None:
    assert run(tmp_path, "org", "create", "Akimat press office").returncode == 0
    assert run(tmp_path, "notify", "add-telegram", "5", "--token", "not-a-token").returncode == 2
    assert run(tmp_path, "notify", "add-email", "nobody").returncode == 2
    assert run(tmp_path, "notify", "add-email", "a@b.kz", "--language", "de").returncode == 2
