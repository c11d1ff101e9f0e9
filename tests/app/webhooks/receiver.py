"""A real webhook receiver on 127.0.0.1 for tests: answers from a script, and checks signatures with the spec's own
`standardwebhooks` package, never with this project's code."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    hold: bool = False
    """Keep the request unanswered until `Receiver.release()` (a receiver that hangs)."""


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    """time.perf_counter() when the request arrived."""
    answered: int

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> dict:
        """The JSON payload, once `standardwebhooks` has checked the signature (raises if it does not match)."""
        return Webhook(secret).verify(self.body, self.headers)

    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """Answers each request with the next scripted `Reply` (200 once the script is used up)."""

    def __init__(self, path: str = "/hook") -> None:
        self.path = path
        self.received: list[Received] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def __enter__(self) -> Receiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def start(self) -> None:
        """Listen (again, on the same port once it had one: a receiver that comes back)."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until `start` (a receiver that is down)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def release(self) -> None:
        self._released.set()

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._script.pop(0) if self._script else Reply()

    def _record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                arrived = time.perf_counter()
                reply = receiver._next_reply()
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver._record(Received(headers, body, arrived, reply.status))
                if reply.hold:
                    receiver._released.wait(timeout=60)
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *_args: object) -> None:
                return

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    return

        return Handler


def ids_of(received: Iterator[Received] | list[Received]) -> list[str]:
    return [request.webhook_id for request in received]
