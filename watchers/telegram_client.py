"""The process's one Telegram (MTProto) client, and the thread its asyncio event loop runs on.

Telethon is asyncio; the scheduler calls sources from plain worker threads. A `TelegramGateway` owns an event
loop running forever on a dedicated thread and the client bound to that loop; synchronous code hands it a
coroutine with `run()` and blocks until the result comes back. Telethon refuses to change loops once connected,
and a session used by two connections at once is revoked by Telegram (AUTH_KEY_DUPLICATED), so a process opens
one gateway at start-up and shares it with every telegram watch through `SourceContext.telegram_client`.

The gateway needs nothing from the client but Telethon's methods, so tests plug a stand-in client into it.
"""

from __future__ import annotations

import asyncio
import getpass
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from watchers.telegram_limits import FloodLimiter

T = TypeVar("T")

DEFAULT_CALL_TIMEOUT_SECONDS = 300.0
LOGIN_TIMEOUT_SECONDS = 900.0
CLOSE_TIMEOUT_SECONDS = 10.0


class TelegramNotAuthorized(Exception):
    """The session string does not hold a logged-in account."""


class TelegramGateway:
    """An asyncio event loop on its own thread, and the Telegram client bound to it.

    `client_factory` is called on the loop thread, so whatever the client binds to is this gateway's loop.
    """

    def __init__(
        self,
        client_factory: Callable[[], Any],
        *,
        call_timeout_seconds: float = DEFAULT_CALL_TIMEOUT_SECONDS,
        thread_name: str = "telegram-loop",
        limiter: FloodLimiter | None = None,
    ) -> None:
        self._call_timeout_seconds = call_timeout_seconds
        self.limiter = limiter or FloodLimiter()
        """The account's flood-wait limiter, shared by every watch using this gateway."""
        self._loop = asyncio.new_event_loop()
        self._closed = False
        self._thread = threading.Thread(target=self._run_loop, name=thread_name, daemon=True)
        self._thread.start()
        try:
            self._client = self.run(_call_factory(client_factory))
        except BaseException:
            self._stop_loop()
            raise

    @property
    def client(self) -> Any:
        """The Telegram client; only touch it from coroutines given to `run()`."""
        return self._client

    @property
    def thread(self) -> threading.Thread:
        """The thread the event loop runs on."""
        return self._thread

    @property
    def closed(self) -> bool:
        return self._closed

    def reconnect_if_dropped(self) -> bool:
        """Connect the client again when Telethon gave up on its connection (it stops retrying after its
        `connection_retries` and leaves the client disconnected); True when it had to."""
        is_connected = getattr(self._client, "is_connected", None)
        if not callable(is_connected) or is_connected():
            return False
        self.run(self._client.connect())
        return True

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run `coroutine` on the gateway's loop and return its result (or raise its exception).

        Raises TimeoutError when it takes longer than `timeout` (default: the gateway's call timeout); the
        coroutine is then cancelled.
        """
        if self._closed:
            coroutine.close()
            raise RuntimeError("the Telegram gateway is closed")
        if threading.get_ident() == self._thread.ident:
            coroutine.close()
            raise RuntimeError("Telegram gateway run() called from its own loop thread: await the coroutine")
        limit = self._call_timeout_seconds if timeout is None else timeout
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(limit)
        except TimeoutError:
            if future.done():
                raise
            future.cancel()
            raise TimeoutError(f"the Telegram call took longer than {limit:.0f} s") from None

    def close(self) -> None:
        """Disconnect the client, stop the loop and wait for its thread to end. Safe to call twice."""
        if self._closed:
            return
        try:
            self.run(_disconnect(self._client), timeout=CLOSE_TIMEOUT_SECONDS)
        except (OSError, RuntimeError):
            pass
        finally:
            self._stop_loop()

    def __enter__(self) -> TelegramGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._cancel_leftover_tasks()
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    def _cancel_leftover_tasks(self) -> None:
        leftovers = asyncio.all_tasks(self._loop)
        for task in leftovers:
            task.cancel()
        if leftovers:
            self._loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))

    def _stop_loop(self) -> None:
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(CLOSE_TIMEOUT_SECONDS)


def build_client(api_id: int, api_hash: str, session: str) -> Any:
    """A Telethon client for a StringSession; not connected.

    Flood waits are never slept inside Telethon (`flood_sleep_threshold=0`): they reach the caller, whose
    policy decides whether to wait or reschedule. Updates are not needed: sources poll history.
    """
    from telethon import TelegramClient
    from telethon.sessions import StringSession

    try:
        string_session = StringSession(session.strip() or None)
    except ValueError as exc:
        raise ValueError(
            "the Telegram session string is not valid: make a new one with `impwatch telegram login`"
        ) from exc
    return TelegramClient(string_session, api_id, api_hash, flood_sleep_threshold=0, receive_updates=False)


def open_telegram_gateway(
    api_id: int,
    api_hash: str,
    session: str,
    *,
    call_timeout_seconds: float = DEFAULT_CALL_TIMEOUT_SECONDS,
) -> TelegramGateway:
    """Build the client, connect it and check the session is logged in; the gateway to share process-wide.

    Raises TelegramNotAuthorized when the session holds no logged-in account, OSError when Telegram cannot be
    reached.
    """
    gateway = TelegramGateway(
        lambda: build_client(api_id, api_hash, session), call_timeout_seconds=call_timeout_seconds
    )
    try:
        gateway.run(_connect_authorised(gateway.client))
    except BaseException:
        gateway.close()
        raise
    return gateway


def login(
    api_id: int,
    api_hash: str,
    phone: str,
    *,
    code_callback: Callable[[], str] | None = None,
    password_callback: Callable[[], str] | None = None,
    client_factory: Callable[[], Any] | None = None,
) -> str:
    """Log a user account in interactively and return its session string (what IMPWATCH_TELEGRAM_SESSION holds).

    Telegram sends a code to the account's other devices (or by SMS); `code_callback` asks for it, and
    `password_callback` for the two-step verification password when the account has one. Both default to
    prompting on the terminal. They run in a worker thread so the client keeps its connection alive meanwhile.
    """
    ask_code = code_callback or _prompt_for_code
    ask_password = password_callback or _prompt_for_password
    factory = client_factory or (lambda: build_client(api_id, api_hash, ""))
    with TelegramGateway(factory, call_timeout_seconds=LOGIN_TIMEOUT_SECONDS) as gateway:
        return gateway.run(_sign_in(gateway.client, phone, ask_code, ask_password))


async def _call_factory(client_factory: Callable[[], T]) -> T:
    return client_factory()


async def _connect_authorised(client: Any) -> None:
    await client.connect()
    if not await client.is_user_authorized():
        raise TelegramNotAuthorized(
            "the Telegram session is not logged in: make a new one with `impwatch telegram login`"
        )


async def _disconnect(client: Any) -> None:
    disconnect = getattr(client, "disconnect", None)
    if disconnect is None:
        return
    result = disconnect()
    if inspect.isawaitable(result):
        await result


async def _sign_in(client: Any, phone: str, ask_code: Callable[[], str], ask_password: Callable[[], str]) -> str:
    await client.start(
        phone=phone,
        code_callback=_in_worker_thread(ask_code),
        password=_in_worker_thread(ask_password),
    )
    return client.session.save()


def _in_worker_thread(ask: Callable[[], str]) -> Callable[[], Awaitable[str]]:
    """Telethon awaits what its callbacks return; a prompt blocking the loop would starve the connection."""

    def ask_off_loop() -> Awaitable[str]:
        return asyncio.to_thread(ask)

    return ask_off_loop


def _prompt_for_code() -> str:
    return input("Telegram login code: ").strip()


def _prompt_for_password() -> str:
    return getpass.getpass("Two-step verification password: ")
