"""One deadline for a whole HTTP attempt: connecting, the TLS handshake, sending and reading the answer together.

httpx's timeouts bound each network operation, so a receiver that trickles a byte a second keeps an attempt with a
five-second timeout going for as long as it likes. Inside `attempt_deadline(seconds)`, every socket operation of a
client built on `DeadlineTransport` gets at most the time left (and fails at once when none is), so the attempt
ends by the deadline whatever the receiver does. httpx has no total timeout of its own (encode/httpx#1450: it
belongs at the network layer, in httpcore), hence this network backend.

The deadline is a context variable: it follows the attempt in the thread that makes it, and a kept-alive
connection used by a later attempt obeys that attempt's deadline.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

_deadline: ContextVar[float | None] = ContextVar("http_attempt_deadline", default=None)


@contextmanager
def attempt_deadline(seconds: float) -> Iterator[None]:
    """Everything sent through a `DeadlineTransport` inside the block ends within `seconds` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport (same pool, TLS and exceptions), with its network operations held to the deadline."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, trust_env: bool = False) -> None:
        super().__init__(verify=verify, trust_env=trust_env)
        pool = self._pool
        assert isinstance(pool, httpcore.ConnectionPool), "no proxy, so httpx made a plain connection pool"
        # httpx takes no network backend; its pool does, and reads it when it opens a connection.
        pool._network_backend = DeadlineBackend(pool._network_backend)


class DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read, write and TLS handshake gets at most the time left. (CPython bounds a whole
    handshake by its timeout; a write of a webhook's few kilobytes fits the socket's buffer in one go.)"""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        bounded = _time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


def _time_left(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """`timeout`, shortened to what is left of the deadline; raises `expired` when nothing is."""
    ends = _deadline.get()
    if ends is None:
        return timeout
    left = ends - time.monotonic()
    if left <= 0:
        raise expired("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)
