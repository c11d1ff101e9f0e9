"""A local stand-in of Telegram's Bot API: a real HTTP server on 127.0.0.1 speaking its JSON, for the real
python-telegram-bot to talk to (`base_url` and `base_file_url` point here).

It answers `getMe`, `getUpdates` (long polling on a condition, offsets as Telegram counts them), `getFile` and file
downloads, `sendMessage`, `sendPhoto`, `answerCallbackQuery`; failures are scripted per method (a 429 with
`retry_after`, a 400 "chat not found") and a chat can block the bot (403 to everything sent to it). Whatever was
sent is kept for the test to read, photos as bytes.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "123456:TEST-token-for-the-bot-api-stand-in"
OTHER_TOKEN = "654321:ANOTHER-token-for-the-bot-api-stand-in"


@dataclass
class Sent:
    token: str
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = field(default_factory=time.perf_counter)
    """When it arrived (time.perf_counter), for the benchmark."""

    @property
    def chat_id(self) -> int:
        return int(self.params["chat_id"])

    @property
    def reply_markup(self) -> dict[str, Any]:
        return json.loads(self.params.get("reply_markup", "{}"))


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    times: int


class BotApi:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.blocked_chats: set[int] = set()
        self._updates: dict[str, list[dict[str, Any]]] = {}
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._file_ids = itertools.count(1)
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._closing = False

    def __enter__(self) -> BotApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._changed:
            self._closing = True
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/file/bot"

    # --- what the test scripts ---

    def fail(
        self, method: str, status: int, description: str, *, retry_after: int | None = None, times: int = 1
    ) -> None:
        self._failures.setdefault(method, []).append(_Failure(status, description, retry_after, times))

    def press_button(self, chat_id: int, data: str, *, token: str = TOKEN, message_id: int = 100) -> None:
        self._add_update(
            token,
            {
                "callback_query": {
                    "id": f"cb{next(self._file_ids)}",
                    "from": _user(777),
                    "chat_instance": "ci",
                    "data": data,
                    "message": {"message_id": message_id, "date": int(time.time()), "chat": _chat(chat_id)},
                }
            },
        )

    def send_from_reader(self, reader_id: int, *, token: str = TOKEN, language: str = "ru", **message: Any) -> None:
        """A reader writes to the bot in a private chat: `text`, or a `photo`/`video` made with `add_file`."""
        self._add_update(
            token,
            {
                "message": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": _chat(reader_id),
                    "from": {**_user(reader_id), "language_code": language},
                    **message,
                }
            },
        )

    def add_file(self, data: bytes, path: str, *, declared_size: int | None = None) -> dict[str, Any]:
        """A file the bot can fetch with `getFile`; what a message's `photo` size or `video` carries."""
        file_id = f"file{next(self._file_ids)}"
        self._files[file_id] = (path, data)
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": declared_size or len(data)}

    def sent_by(self, method: str) -> list[Sent]:
        return [sent for sent in self.sent if sent.method == method]

    def pending_updates(self, token: str = TOKEN) -> int:
        return len(self._updates.get(token, []))

    # --- the protocol ---

    def _add_update(self, token: str, update: dict[str, Any]) -> None:
        with self._changed:
            self._updates.setdefault(token, []).append({"update_id": next(self._update_ids), **update})
            self._changed.notify_all()

    def answer(self, token: str, method: str, params: dict[str, Any], files: dict[str, bytes]) -> tuple[int, Any]:
        failure = self._take_failure(method)
        if failure is not None:
            return failure
        if method in ("sendMessage", "sendPhoto", "sendVideo") and int(params["chat_id"]) in self.blocked_chats:
            return _error(403, "Forbidden: bot was blocked by the user")
        self.sent.append(Sent(token, method, params, files))
        if method == "getMe":
            return 200, _user(int(token.split(":")[0]), bot=True)
        if method == "getUpdates":
            return 200, self._take_updates(token, params)
        if method == "getFile":
            file_id = params["file_id"]
            if file_id not in self._files:
                return _error(400, "Bad Request: invalid file_id")
            path, data = self._files[file_id]
            return 200, {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(data), "file_path": path}
        if method in ("sendMessage", "sendPhoto", "sendVideo"):
            return 200, self._message(params)
        if method in ("answerCallbackQuery", "editMessageReplyMarkup"):
            return 200, True
        return _error(404, "Not Found: method not found")

    def file(self, path: str) -> bytes | None:
        return next((data for stored, data in self._files.values() if stored == path), None)

    def _take_failure(self, method: str) -> tuple[int, Any] | None:
        queue = self._failures.get(method) or []
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return _error(failure.status, failure.description, failure.retry_after)

    def _take_updates(self, token: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 5.0)
        with self._changed:
            while True:
                queue = self._updates.setdefault(token, [])
                queue[:] = [update for update in queue if update["update_id"] >= offset]
                allowed = json.loads(params.get("allowed_updates") or "[]")
                found = [u for u in queue if not allowed or any(kind in u for kind in allowed)]
                left = deadline - time.monotonic()
                if found or left <= 0 or self._closing:
                    return found
                self._changed.wait(left)

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": _chat(int(params["chat_id"])),
        }
        if "text" in params:
            message["text"] = params["text"]
        if "caption" in params:
            message["caption"] = params["caption"]
        return message


def _user(user_id: int, bot: bool = False) -> dict[str, Any]:
    return {"id": user_id, "is_bot": bot, "first_name": "Impwatch" if bot else "Reader", "username": "impwatch_bot"}


def _chat(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "press office"}


def _error(status: int, description: str, retry_after: int | None = None) -> tuple[int, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return status, body


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                files[str(name)] = payload
            else:
                params[str(name)] = payload.decode()
        return params, files
    if content_type.startswith("application/json"):
        return json.loads(body or b"{}"), {}
    return {key: values[-1] for key, values in urllib.parse.parse_qs(body.decode()).items()}, {}


def _handler_for(api: BotApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: without it each answer waits ~40 ms

        def do_POST(self) -> None:
            _, _, rest = self.path.partition("/bot")
            token, _, method = rest.partition("/")
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            params, files = _parse_body(self.headers.get("content-type", ""), body)
            status, result = api.answer(token, method.split("?")[0], params, files)
            payload = result if status != 200 else {"ok": True, "result": result}
            self._reply(status, json.dumps(payload).encode(), "application/json")

        def _reply(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    class FileAwareHandler(Handler):
        def do_GET(self) -> None:
            if self.path.startswith("/file/bot"):
                _, _, rest = self.path.partition("/file/bot")
                _, _, path = rest.partition("/")
                data = api.file(urllib.parse.unquote(path))
                if data is None:
                    self._reply(404, b"not found", "text/plain")
                else:
                    self._reply(200, data, "application/octet-stream")
                return
            self.do_POST()

    return FileAwareHandler
