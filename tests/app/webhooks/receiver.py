"""Real webhook receivers on 127.0.0.1 for tests: one that answers from a script, and checks signatures with the
spec's own `standardwebhooks` package, never with this project's code; and a raw socket one that answers a byte a
second."""

from __future__ import annotations

import json
import socket
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


class Trickler:
    """A raw socket server on 127.0.0.1 that reads a request and answers it one byte a second: the status line and
    headers at once and then the body (a receiver that is alive but slow), or everything byte by byte with
    `trickle_headers`. `arrivals` holds the time.perf_counter() of each request."""

    BODY_BYTES = 60

    def __init__(self, trickle_headers: bool = False) -> None:
        self.trickle_headers = trickle_headers
        self.arrivals: list[float] = []
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self.port = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> Trickler:
        self._threads[0].start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop answering and close every connection (the client then sees the answer cut short)."""
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            handler = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            self._threads.append(handler)
            handler.start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(5)
            try:
                self._read_request(connection)
                self.arrivals.append(time.perf_counter())
                head = f"HTTP/1.1 200 OK\r\ncontent-length: {self.BODY_BYTES}\r\n\r\n".encode()
                if not self.trickle_headers:
                    connection.sendall(head)
                    head = b""
                for byte in head + b"x" * self.BODY_BYTES:
                    if self._stop.wait(1.0):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return

    @staticmethod
    def _read_request(connection: socket.socket) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionResetError("the client left before its request was complete")
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:])
        length = int(next((value for name, value in fields.items() if name.lower() == b"content-length"), 0))
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionResetError("the client left before its request was complete")
            body += chunk
