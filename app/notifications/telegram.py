"""The Telegram channel kind: messages to a chat through the Bot API, with python-telegram-bot (its HTTP layer is
httpx; the base URLs are settings, so tests point them at a local stand-in of the Bot API).

The library is asynchronous and the dispatcher's senders are threads: `TelegramBots` runs one event loop in a
thread of its own and keeps one `Bot` per token, so connections are reused from message to message. Telegram's
answers decide what follows: 429 waits its `retry_after`; 403 (the bot was blocked, or removed from the chat),
400 "chat not found", a revoked token and a group upgraded to a supergroup mean the chat is gone and the channel is
disabled; any other 400 is a message Telegram will never take (dead); network trouble is retried.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from app.notifications.messages import BUTTONS, callback_data, digest_telegram, telegram_caption, words
from app.notifications.service import Outcome, Outgoing, SendResult

if TYPE_CHECKING:
    from telegram import Bot, InlineKeyboardMarkup
    from telegram.request import BaseRequest

T = TypeVar("T")
GONE_BAD_REQUESTS = ("chat not found", "chat_id is empty", "peer_id_invalid", "bot was kicked", "user is deactivated")


@dataclass(frozen=True)
class BotApi:
    """Where the Bot API is (`{token}` is appended to both, as Telegram's own URLs have it) and the time an attempt
    may take."""

    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    timeout_seconds: float = 15.0


class TelegramBots:
    """One event loop thread and one `Bot` per token, shared by every sender thread; `close()` ends both."""

    def __init__(self, api: BotApi) -> None:
        self.api = api
        self._bots: dict[str, Bot] = {}
        self._requests: list[BaseRequest] = []
        self._in_flight: set[concurrent.futures.Future[Any]] = set()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="telegram-bots", daemon=True)
        self._thread.start()

    def call(self, token: str, work: Callable[[Bot], Awaitable[T]], timeout: float | None = None) -> T:
        """Run `work(bot)` on the loop and wait for it (at most `timeout`, the attempt's time by default)."""

        async def run() -> T:
            return await work(self._bot(token))

        future = asyncio.run_coroutine_threadsafe(run(), self._loop)
        with self._lock:
            self._in_flight.add(future)
        future.add_done_callback(self._forget)
        return future.result(timeout if timeout is not None else self.api.timeout_seconds + 5)

    def cancel_calls(self) -> None:
        """Cut short every call in flight (a long poll, say): its caller gets `concurrent.futures.CancelledError`.
        For a stop that must not wait out a long poll."""
        with self._lock:
            in_flight = list(self._in_flight)
        for future in in_flight:
            future.cancel()

    def _forget(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    def send(self, outgoing: Outgoing) -> SendResult:
        """Send one notification: the face crop as a photo with the caption and the triage buttons, or the caption
        alone when the alert has no crop (text signals), or the test message."""
        token, chat_id = str(outgoing.config["bot_token"]), int(str(outgoing.config["chat_id"]))
        started = time.perf_counter()
        try:
            sent = self.call(token, lambda bot: _send(bot, chat_id, outgoing))
        except Exception as exc:  # classified: every failure is an attempt's outcome, never the dispatcher's
            return classify(exc, _ms_since(started))
        return SendResult(Outcome.DELIVERED, _ms_since(started), external_id=f"{chat_id}:{sent}")

    def updates(self, token: str, offset: int | None, timeout: int = 0, allowed: list[str] | None = None) -> list[Any]:
        """The bot's updates after `offset` (long polling for up to `timeout` seconds)."""

        async def get(bot: Bot) -> list[Any]:
            found = await bot.get_updates(
                offset=offset, timeout=timeout, allowed_updates=allowed, read_timeout=timeout + self.api.timeout_seconds
            )
            return list(found)

        return self.call(token, get, timeout=timeout + self.api.timeout_seconds + 5)

    def answer_button(self, token: str, query_id: str, text: str) -> None:
        self.call(token, lambda bot: bot.answer_callback_query(query_id, text=text[:200]))

    def close(self) -> None:
        async def shut() -> None:
            for request in self._requests:  # the bots were never initialised (no getMe), so they close nothing
                await request.shutdown()

        self.cancel_calls()
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    def _bot(self, token: str) -> Bot:
        bot = self._bots.get(token)
        if bot is None:
            from telegram import Bot
            from telegram.request import HTTPXRequest

            def request() -> HTTPXRequest:
                seconds = self.api.timeout_seconds
                self._requests.append(
                    made := HTTPXRequest(
                        connection_pool_size=8,
                        connect_timeout=seconds,
                        read_timeout=seconds,
                        write_timeout=seconds,
                        media_write_timeout=seconds,
                        pool_timeout=seconds,
                    )
                )
                return made

            bot = Bot(
                token,
                base_url=self.api.base_url,
                base_file_url=self.api.base_file_url,
                request=request(),
                get_updates_request=request(),
            )
            self._bots[token] = bot
        return bot


async def _send(bot: Bot, chat_id: int, outgoing: Outgoing) -> int:
    facts, language = outgoing.facts, outgoing.language
    if outgoing.digest is not None:
        text = digest_telegram(outgoing.digest, language)
        return (await bot.send_message(chat_id, text, parse_mode="HTML")).message_id
    if facts is None:
        return (await bot.send_message(chat_id, words(language)["test"])).message_id
    caption, keyboard = telegram_caption(facts, language), buttons(facts.alert_id, language)
    if facts.crop_jpeg:
        message = await bot.send_photo(
            chat_id, photo=facts.crop_jpeg, caption=caption, parse_mode="HTML", reply_markup=keyboard
        )
    else:
        message = await bot.send_message(
            chat_id, caption, parse_mode="HTML", reply_markup=keyboard, disable_web_page_preview=True
        )
    return message.message_id


def buttons(alert_id: Any, language: str) -> InlineKeyboardMarkup:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    labels = words(language)
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(labels[label], callback_data=callback_data(alert_id, status))
                for label, status in BUTTONS
            ]
        ]
    )


def classify(error: BaseException, duration_ms: float) -> SendResult:
    """What an error of the Bot API (or of getting to it) means for the delivery."""
    from telegram import error as tg
    from telegram.warnings import PTBDeprecationWarning

    text = f"{error.__class__.__name__}: {error}"[:2000]
    if isinstance(error, tg.RetryAfter):
        with warnings.catch_warnings():  # an int until the library's next major version, a timedelta after
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        return SendResult(Outcome.RETRY, duration_ms, text, retry_after_seconds=seconds)
    if isinstance(error, tg.Forbidden | tg.InvalidToken | tg.ChatMigrated):
        return SendResult(Outcome.GONE, duration_ms, f"Telegram refused the chat: {text}")
    if isinstance(error, tg.BadRequest):
        if any(reason in str(error).lower() for reason in GONE_BAD_REQUESTS):
            return SendResult(Outcome.GONE, duration_ms, f"Telegram refused the chat: {text}")
        return SendResult(Outcome.DEAD, duration_ms, text)
    return SendResult(Outcome.RETRY, duration_ms, text)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
