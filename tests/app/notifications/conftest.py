"""Notification fixtures: the Bot API stand-in, a runtime pointed at it with a fast retry schedule, the dispatcher
and the reader of button presses built as `impwatch serve` builds them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from app.notifications.jobs import ButtonPresses, NotificationDispatcher
from app.notifications.telegram import TelegramBots
from app.runtime import Runtime
from app.scheduling import build_button_presses, build_notification_dispatcher, telegram_bots
from tests.app.notifications.bot_api import BotApi
from tests.app.webhooks.builders import FAST_RETRIES, PUBLIC_BASE_URL


@pytest.fixture
def bot_api() -> Iterator[BotApi]:
    with BotApi() as api:
        yield api


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], bot_api: BotApi) -> Runtime:
    return make_runtime(
        public_base_url=PUBLIC_BASE_URL,
        notification_retry_schedule_seconds=FAST_RETRIES,
        notification_timeout_seconds=5.0,
        telegram_bot_api_base_url=bot_api.base_url,
        telegram_bot_file_base_url=bot_api.base_file_url,
    )


@pytest.fixture
def bots(runtime: Runtime) -> Iterator[TelegramBots]:
    built = telegram_bots(runtime)
    yield built
    built.close()


@pytest.fixture
def dispatcher(runtime: Runtime, bots: TelegramBots) -> Iterator[NotificationDispatcher]:
    built = build_notification_dispatcher(runtime, bots)
    yield built
    built.close()


@pytest.fixture
def presses(runtime: Runtime, bots: TelegramBots) -> ButtonPresses:
    return build_button_presses(runtime, bots)
