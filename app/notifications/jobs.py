"""Scheduled notification work: the dispatcher that sends what the outbox owes, and the reader of button presses
under Telegram messages (which triage the alert as the channel's organisation).

As for webhooks, a delivery is claimed (committed) before it is sent and its outcome is committed after, so a
process killed in between sends it again after the claim's lease: at least once. Channels are sent to at once, up
to `concurrency`; one channel's messages go one after another (a chat sees them in order, and Telegram's limits are
per chat): the senders are the outbox's (`app.outbox.jobs.Senders`), as for webhooks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.alerts import service as alerts
from app.alerts.schemas import AlertUpdate
from app.notifications import service
from app.notifications.messages import parse_callback_data, words
from app.notifications.metrics import record_notification_attempt
from app.notifications.service import Outcome, Outgoing, SendResult
from app.notifications.telegram import TelegramBots
from app.outbox.jobs import Senders
from app.outbox.service import DueDelivery
from core.clock import utcnow
from core.scope import Scope

log = logging.getLogger(__name__)
DISPATCH_JOB_ID = "notification-dispatcher"
BUTTONS_JOB_ID = "notification-buttons"
DIGEST_JOB_ID = "notification-digests"
Sender = Callable[[Outgoing], SendResult]


@dataclass
class NotificationDispatcher:
    """Everything a run needs, injected: the database, one sender per channel kind, the schedule and the clock."""

    db_engine: Engine
    senders: Mapping[str, Sender]
    retry_schedule: Sequence[float]
    public_base_url: str
    timeout_seconds: float = 15.0
    batch_size: int = 50
    drain_seconds: float = 30.0
    concurrency: int = 4
    clock: Callable[[], datetime] = utcnow
    _outbox: Senders = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._outbox = Senders(
            "notification", self._due, self._attempted, self.batch_size, self.drain_seconds, self.concurrency
        )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=2 * self.timeout_seconds + 5)

    def run(self) -> int:
        """Send what is due (`app.outbox.jobs.Senders.run`); the number of attempts this run finished."""
        return self._outbox.run()

    def deliver(self, delivery_id: uuid.UUID) -> SendResult | None:
        """Claim, send and record one delivery; None when it was not sent (not due, taken, or broken)."""
        try:
            with Session(self.db_engine) as session:
                outgoing = service.begin_attempt(session, delivery_id, self.clock(), self.lease, self.public_base_url)
                session.commit()
            if outgoing is None:
                return None
            result = self._send(outgoing)
            with Session(self.db_engine) as session:
                service.finish_attempt(session, outgoing, result, self.retry_schedule, self.clock())
                session.commit()
        except Exception:
            log.exception("notification %s failed in the dispatcher; due again after its lease", delivery_id)
            return None
        record_notification_attempt(outgoing.kind, result.outcome, result.duration_ms / 1000)
        return result

    def close(self) -> None:
        self._outbox.close()

    def _send(self, outgoing: Outgoing) -> SendResult:
        sender = self.senders.get(outgoing.kind)
        if sender is None:
            return SendResult(Outcome.RETRY, 0.0, f"this process cannot send {outgoing.kind} notifications")
        return sender(outgoing)

    def _attempted(self, delivery_id: uuid.UUID) -> bool:
        return self.deliver(delivery_id) is not None

    def _due(self, busy: set[uuid.UUID], limit: int) -> list[DueDelivery]:
        try:
            with Session(self.db_engine) as session:
                return service.due_deliveries(session, self.clock(), limit, skip_channels=busy)
        except Exception:
            log.exception("could not read the notification outbox; retried at the next run")
            return []


@dataclass
class DailyDigests:
    """Owes each channel its daily digest once its hour has come (the dispatcher sends it)."""

    db_engine: Engine
    clock: Callable[[], datetime] = utcnow

    def run(self) -> int:
        try:
            with Session(self.db_engine) as session:
                owed = service.enqueue_digests(session, self.clock())
                session.commit()
        except Exception:
            log.exception("the daily digests were not owed; tried again at the next run")
            return 0
        return owed


@dataclass
class ButtonPresses:
    """Reads the button presses (callback queries) of every notification bot and triages the alerts they name, as
    the organisation whose channel posts to that chat with that bot, and only its own alerts. `skip_tokens`: bots
    whose updates another reader takes (the reporting bot hands its button presses to `handle`)."""

    db_engine: Engine
    bots: TelegramBots
    public_base_url: str
    skip_tokens: frozenset[str] = frozenset()
    _offsets: dict[str, int] = field(default_factory=dict, repr=False)

    def run(self) -> int:
        """One look at each bot's pending presses; returns how many were handled."""
        handled = 0
        for token in self._tokens():
            try:
                updates = self.bots.updates(token, self._offsets.get(token), allowed=["callback_query"])
            except Exception as exc:
                log.warning("could not read the button presses of bot %s: %s", token.split(":")[0], exc)
                continue
            for update in updates:
                self._offsets[token] = update.update_id + 1
                if update.callback_query is not None:
                    handled += self.handle(token, update.callback_query) is not None
        return handled

    def handle(self, token: str, query: Any) -> str | None:
        """Triage the alert a press names, or refuse it; the bot answers the press with what was done."""
        try:
            answer = self._triage(token, query)
            self.bots.answer_button(token, query.id, answer)
        except Exception:
            log.exception("a button press of bot %s was not handled", token.split(":")[0])
            return None
        return answer

    def _triage(self, token: str, query: Any) -> str:
        chat_id = query.message.chat.id if query.message is not None else None
        parsed = parse_callback_data(query.data or "")
        with Session(self.db_engine) as session:
            chats = service.channels_of_chat(session, token, chat_id) if chat_id is not None else []
            language = chats[0].language if chats else "en"
            found = service.organization_for_button(session, token, chat_id, parsed[0]) if parsed and chat_id else None
            if parsed is None or found is None:
                return words(language)["refused"]
            alert, organization_id = found
            session.info["scope"] = Scope(role="telegram_button", organization_id=organization_id)
            alerts.triage(session, alert, AlertUpdate(status=parsed[1]), public_base_url=self.public_base_url)
            session.commit()
        labels = words(language)
        return labels["triaged"].format(status=labels[parsed[1]])

    def _tokens(self) -> list[str]:
        try:
            with Session(self.db_engine) as session:
                return [token for token in service.telegram_bot_tokens(session) if token not in self.skip_tokens]
        except Exception:
            log.exception("could not read the notification bots; retried at the next run")
            return []
