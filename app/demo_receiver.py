"""The demo's webhook receiver: a small HTTP server standing in for a press office's system. It checks each
event's Standard Webhooks signature with the endpoint's secret, prints what arrived, and answers 204 (or 401 to an
event whose signature does not verify, which the service then retries)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

from app.demo_http import BackgroundHttpServer
from app.webhooks.signing import verify


class DemoWebhookReceiver:
    """Receives events at `url`; `secret` must be set (the endpoint's `whsec_` secret) before events arrive.
    `report` is called with one line per event."""

    def __init__(self, host: str, port: int, report: Callable[[str], None]) -> None:
        self.secret = ""
        self.report = report
        self._http = BackgroundHttpServer(host, port, _handler_for(self))

    @property
    def url(self) -> str:
        return f"{self._http.origin}/events"

    def start(self) -> DemoWebhookReceiver:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def receive(self, headers: dict[str, str], body: bytes) -> int:
        """The status answered to one delivery."""
        if not self.secret or not verify(self.secret, headers, body, int(time.time())):
            self.report(f"webhook REJECTED: the signature of {headers.get('webhook-id', '?')} does not verify")
            return 401
        self.report(f"webhook verified: {describe_event(json.loads(body))}")
        return 204


def describe_event(event: dict) -> str:
    """One line about an event: its type and, for an alert, the person, kind, tier and first permalink."""
    data = event.get("data") or {}
    alert = data.get("alert")
    if not isinstance(alert, dict):
        return f"{event.get('type')} ({event.get('id')})"
    person = (data.get("person") or {}).get("display_name") or alert.get("person_name", "")
    occurrences = data.get("occurrences") or [{}]
    permalink = occurrences[0].get("permalink", "") if isinstance(occurrences[0], dict) else ""
    return f"{event.get('type')}: {person}, {alert.get('kind')} ({alert.get('tier')}) {permalink}".rstrip()


def _handler_for(receiver: DemoWebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            self.send_response(receiver.receive(headers, body))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
