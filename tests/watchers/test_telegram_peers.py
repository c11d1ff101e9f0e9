"""Resolved Telegram usernames kept in the database, so that a restart does not resolve them again."""

from __future__ import annotations

import pytest

from app.runtime import Runtime
from tests.watchers.sources.fake_telethon import FakeTelegramClient
from watchers.sources.base import NeedsAttention, SourceContext
from watchers.sources.telegram import TelegramConfig, TelegramSource
from watchers.telegram_client import TelegramGateway
from watchers.telegram_peers import DbPeerCache


def read_once(fake: FakeTelegramClient, runtime: Runtime, channel: str) -> list[str]:
    """One process's life: a gateway of its own, a source reading the channel, then shutdown."""
    with TelegramGateway(fake.restarted) as gateway:
        context = SourceContext(telegram_client=gateway, telegram_peers=DbPeerCache(runtime.db_engine))
        return [post.text for post in TelegramSource(TelegramConfig(channel=channel), context).fetch("0", 10)]


def test_a_restart_reads_the_channel_without_resolving_its_username_again(runtime: Runtime) -> None:
    fake = FakeTelegramClient()
    fake.add_channel("akorda_fakes").post("before the restart")

    assert read_once(fake, runtime, "akorda_fakes") == ["before the restart"]
    fake.add_channel("other_fakes").post("another watch")
    assert read_once(fake, runtime, "@Akorda_Fakes") == ["before the restart"]
    assert read_once(fake, runtime, "other_fakes") == ["another watch"]

    resolved = [request for request in fake.requests if request.startswith("get_input_entity(")]
    assert resolved == ["get_input_entity(akorda_fakes)", "get_input_entity(other_fakes)"]


def test_a_stale_entry_is_forgotten_and_resolved_again(runtime: Runtime) -> None:
    from telethon import errors

    fake = FakeTelegramClient()
    fake.add_channel("akorda_fakes").post("hello")
    read_once(fake, runtime, "akorda_fakes")
    fake.fail_next("iter_messages", errors.ChannelInvalidError(request=None))

    with pytest.raises(NeedsAttention, match="not a valid channel"):
        read_once(fake, runtime, "akorda_fakes")

    assert DbPeerCache(runtime.db_engine).get("akorda_fakes") is None
    assert read_once(fake, runtime, "akorda_fakes") == ["hello"]
