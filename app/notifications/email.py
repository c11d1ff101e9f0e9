"""The email channel kind: SMTP with STARTTLS and login (settings), a plain-text and an HTML part, the face crop
inline in the HTML (`cid:`), the same facts as every channel and a link to the alert.

The server's answer decides what follows: a 4xx reply (greylisting, a full mailbox, a server busy) is retried on
the schedule, a 5xx reply is final (dead); a connection that fails or drops is retried.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from app.notifications.messages import digest_html, digest_text, email_html, plain_text, title, words
from app.notifications.service import Outcome, Outgoing, SendResult


@dataclass(frozen=True)
class SmtpServer:
    host: str | None
    port: int = 587
    starttls: bool = True
    ca_file: Path | None = None
    username: str | None = None
    password: str | None = None
    from_address: str = "impwatch@localhost"
    timeout_seconds: float = 15.0


class EmailSender:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    def send(self, outgoing: Outgoing) -> SendResult:
        started = time.perf_counter()
        if not self.server.host:
            return SendResult(Outcome.RETRY, 0.0, "no mail server: set IMPWATCH_SMTP_HOST")
        message = build_message(outgoing, self.server.from_address)
        try:
            self._deliver(message)
        except smtplib.SMTPRecipientsRefused as refused:
            code, reply = next(iter(refused.recipients.values()))
            return _by_code(code, reply, _ms_since(started))
        except smtplib.SMTPResponseException as exc:
            return _by_code(exc.smtp_code, exc.smtp_error, _ms_since(started))
        except (smtplib.SMTPException, OSError) as exc:
            return SendResult(Outcome.RETRY, _ms_since(started), f"{exc.__class__.__name__}: {exc}"[:2000])
        return SendResult(Outcome.DELIVERED, _ms_since(started), external_id=str(message["Message-ID"]))

    def _deliver(self, message: EmailMessage) -> None:
        server = self.server
        assert server.host is not None
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout_seconds) as smtp:
            if server.starttls:
                context = ssl.create_default_context(cafile=str(server.ca_file) if server.ca_file else None)
                smtp.starttls(context=context)
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(message)


def build_message(outgoing: Outgoing, from_address: str) -> EmailMessage:
    language, facts = outgoing.language, outgoing.facts
    message = EmailMessage()
    message["From"] = from_address
    message["To"] = str(outgoing.config["address"])
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="impwatch")
    if outgoing.digest is not None:
        message["Subject"] = words(language)["digest_title"]
        message.set_content(digest_text(outgoing.digest, language))
        message.add_alternative(digest_html(outgoing.digest, language), subtype="html")
        return message
    if facts is None:
        message["Subject"] = words(language)["test"].split(":")[0]
        message.set_content(words(language)["test"])
        return message
    message["Subject"] = f"{title(facts, language)}: {facts.person}"
    message.set_content(plain_text(facts, language))
    crop_cid = make_msgid(domain="impwatch")[1:-1] if facts.crop_jpeg else None
    message.add_alternative(email_html(facts, language, crop_cid), subtype="html")
    if facts.crop_jpeg and crop_cid:
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage), "an EmailMessage's parts are EmailMessages"
        html_part.add_related(facts.crop_jpeg, "image", "jpeg", cid=f"<{crop_cid}>", filename="face.jpg")
    return message


def _by_code(code: int, reply: bytes | str, duration_ms: float) -> SendResult:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    error = f"SMTP {code}: {text}"[:2000]
    return SendResult(Outcome.RETRY if 400 <= code < 500 else Outcome.DEAD, duration_ms, error)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000
