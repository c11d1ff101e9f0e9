"""The webhook dispatcher: one run sends the deliveries that are due, each in its own sessions and try/except.

A delivery is claimed (committed) before it is sent and its outcome is committed after, so a process killed in
between sends it again after the claim's lease, with the same `webhook-id`: delivery is at least once.

Deliveries to different endpoints go out at once, from a bounded pool of senders (`concurrency`); those to one
endpoint go one after another, from one sender (`app.outbox.jobs.Senders`, shared with the notifications). Each
attempt has one deadline (`timeout_seconds`) for everything:
connecting, TLS, sending and reading the answer, less what the name lookup before them took (the system resolver
itself cannot be cut short). So a slow receiver holds one sender for at most the deadline per delivery, and costs
the other endpoints nothing while senders are free.
"""

from __future__ import annotations

import email.utils
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.outbox.jobs import Senders
from app.outbox.models import DeliveryStatus
from app.outbox.service import DueDelivery
from app.webhooks import service
from app.webhooks.deadline import attempt_deadline
from app.webhooks.metrics import record_webhook_attempt
from app.webhooks.service import AttemptResult, Outgoing
from app.webhooks.signing import signature_headers
from app.webhooks.urls import SendTarget, WebhookUrlPolicy
from core.clock import utcnow
from core.errors import InputRejected

log = logging.getLogger(__name__)
DISPATCH_JOB_ID = "webhook-dispatcher"
USER_AGENT = "ImpersonationWatch-Webhooks/1"
ATTEMPT_OUTCOMES = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "failed",
    DeliveryStatus.DEAD: "dead",
}
"""A delivery's status after an attempt, as the attempt's outcome in the metrics."""
RESPONSE_EXCERPT_BYTES = 1000


@dataclass
class WebhookDispatcher:
    """Everything a run needs, injected: the database, the HTTP client, the clock, the retry schedule.

    The client's transport holds each attempt to its deadline when it is a `deadline.DeadlineTransport`, as in
    `app.scheduling.build_webhook_dispatcher`; any other transport only has httpx's timeout per operation."""

    db_engine: Engine
    client: httpx.Client
    retry_schedule: Sequence[float]
    timeout_seconds: float = 10.0
    batch_size: int = 50
    drain_seconds: float = 30.0
    concurrency: int = 8
    clock: Callable[[], datetime] = utcnow
    url_policy: WebhookUrlPolicy = field(default_factory=WebhookUrlPolicy)
    _outbox: Senders = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._outbox = Senders(
            "webhook", self._due, self._attempted, self.batch_size, self.drain_seconds, self.concurrency
        )

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is left alone: past any attempt's deadline."""
        return timedelta(seconds=2 * self.timeout_seconds + 1)

    def run(self) -> int:
        """Send what is due (`app.outbox.jobs.Senders.run`); the number of attempts this run finished."""
        return self._outbox.run()

    def deliver(self, delivery_id: uuid.UUID) -> AttemptResult | None:
        """Claim, send and record one delivery. None when it was not sent (not due, taken, or broken)."""
        try:
            outgoing = self._begin(delivery_id)
            if outgoing is None:
                return None
            result = self._send(outgoing)
            self._finish(outgoing, result)
        except Exception:
            log.exception("webhook delivery %s failed in the dispatcher; due again after its lease", delivery_id)
            return None
        return result

    def close(self) -> None:
        """Let the senders finish the attempts they are making (each ends by its deadline), then close the client."""
        self._outbox.close()
        self.client.close()

    def _attempted(self, delivery_id: uuid.UUID) -> bool:
        return self.deliver(delivery_id) is not None

    def _due(self, busy: set[uuid.UUID], limit: int) -> list[DueDelivery]:
        try:
            with Session(self.db_engine) as session:
                return service.due_deliveries(session, self.clock(), limit, skip_endpoints=busy)
        except Exception:
            log.exception("could not read the webhook outbox; retried at the next run")
            return []

    def _begin(self, delivery_id: uuid.UUID) -> Outgoing | None:
        with Session(self.db_engine) as session:
            outgoing = service.begin_attempt(session, delivery_id, self.clock(), self.lease)
            session.commit()
            return outgoing

    def _send(self, outgoing: Outgoing) -> AttemptResult:
        """POST the event to the address the URL policy checked, all within the attempt's deadline; a URL that now
        resolves to a refused address is not contacted and counts as a failed attempt, retried on the usual
        schedule (the name may be pointed back)."""
        with attempt_deadline(self.timeout_seconds):
            try:
                target = self.url_policy.target(outgoing.url)
            except InputRejected as refused:
                return AttemptResult(None, 0.0, error=refused.message)
            return self._post(outgoing, target)

    def _post(self, outgoing: Outgoing, target: SendTarget) -> AttemptResult:
        timestamp = int(self.clock().timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **target.headers,
            **signature_headers(outgoing.message_id, timestamp, outgoing.body, outgoing.secrets),
        }
        started = time.perf_counter()
        try:
            with self.client.stream(
                "POST",
                target.url,
                content=outgoing.body,
                headers=headers,
                timeout=self.timeout_seconds,
                extensions=target.extensions,
            ) as response:
                excerpt = _excerpt(response)
        except httpx.TimeoutException as exc:
            error = f"{exc.__class__.__name__}: no complete answer within the {self.timeout_seconds:g} s deadline"
            return AttemptResult(None, _ms_since(started), error=error)
        except httpx.HTTPError as exc:
            return AttemptResult(None, _ms_since(started), error=_describe(exc))
        return AttemptResult(
            response.status_code,
            _ms_since(started),
            retry_after_seconds=retry_after_seconds(response.headers.get("retry-after"), self.clock()),
            response_excerpt=excerpt,
        )

    def _finish(self, outgoing: Outgoing, result: AttemptResult) -> None:
        with Session(self.db_engine) as session:
            delivery = service.finish_attempt(session, outgoing, result, self.retry_schedule, self.clock())
            status = delivery.status if delivery is not None else None
            session.commit()
        if status is not None:
            record_webhook_attempt(ATTEMPT_OUTCOMES[status], result.duration_ms / 1000)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A `Retry-After` header in seconds from now: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def _excerpt(response: httpx.Response) -> str | None:
    """The start of the receiver's answer, for people debugging it; the rest is never read."""
    for chunk in response.iter_bytes(RESPONSE_EXCERPT_BYTES):
        return chunk[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace") or None
    return None


def _describe(error: httpx.HTTPError) -> str:
    return f"{error.__class__.__name__}: {error}"[:2000] if str(error) else error.__class__.__name__


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
