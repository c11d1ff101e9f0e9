"""Email notifications against a real SMTP server on loopback (aiosmtpd) that requires STARTTLS and a login, as a
mail relay does: the message is parsed as received (both parts, the crop inline and referenced by its cid, the
link to the alert); a server answering 4xx is tried again later and recovers, a 5xx is final."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.notifications.jobs import NotificationDispatcher
from app.runtime import Runtime
from app.scheduling import build_notification_dispatcher, telegram_bots
from tests.app.notifications.builders import add_email_channel, attempts_of, deliveries_of, dispatch_until
from tests.app.webhooks.builders import FAST_RETRIES, PUBLIC_BASE_URL, add_person, raise_alert
from tests.support import free_port

USER, PASSWORD = "impwatch", "s3cret-relay-password"


@dataclass
class Mailbox:
    """The server's side: what it received, and the answers it gives to DATA before it accepts (scripted)."""

    received: list[EmailMessage] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
        if ok:
            self.logins.append(mechanism)
        return AuthResult(success=ok)


@pytest.fixture
def certificate_authority(tmp_path: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ca, ca_file


@pytest.fixture
def mailbox(certificate_authority: tuple[trustme.CA, Path]) -> Iterator[tuple[Mailbox, int]]:
    ca, _ = certificate_authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    box, port = Mailbox(), free_port()
    controller = Controller(
        box,
        hostname="localhost",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=box.authenticate,
    )
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def email_dispatcher(
    make_runtime: Callable[..., Runtime],
    mailbox: tuple[Mailbox, int],
    certificate_authority: tuple[trustme.CA, Path],
) -> Iterator[tuple[Runtime, NotificationDispatcher]]:
    runtime = make_runtime(
        public_base_url=PUBLIC_BASE_URL,
        notification_retry_schedule_seconds=FAST_RETRIES,
        smtp_host="localhost",
        smtp_port=mailbox[1],
        smtp_ca_file=certificate_authority[1],
        smtp_username=USER,
        smtp_password=PASSWORD,
        smtp_from="alerts@impwatch.example.org",
    )
    bots = telegram_bots(runtime)
    dispatcher = build_notification_dispatcher(runtime, bots)
    yield runtime, dispatcher
    dispatcher.close()
    bots.close()


def test_an_alert_arrives_as_a_mail_with_both_parts_the_crop_inline_and_the_link(
    email_dispatcher: tuple[Runtime, NotificationDispatcher], mailbox: tuple[Mailbox, int]
) -> None:
    runtime, dispatcher = email_dispatcher
    box, _ = mailbox
    subscribed = add_email_channel(runtime, language="en")
    raised = raise_alert(runtime, add_person(runtime), channel="fake_news_kz")

    dispatch_until(dispatcher, lambda: box.received, "the mail to arrive")

    [mail] = box.received
    assert box.logins == ["LOGIN"] or box.logins == ["PLAIN"]
    assert (mail["To"], mail["From"]) == ("desk@akimat.example.kz", "alerts@impwatch.example.org")
    assert mail["Subject"] == "Impersonation Watch: new alert: Barack Obama"
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    link = f"{PUBLIC_BASE_URL}/v1/alerts/{raised.id}"
    text = plain.get_content()
    for fact in ("Person: Barack Obama", "Kind: face match", "Channel: @fake_news_kz", "Distance: 0.31", link):
        assert fact in text
    assert f'href="{link}"' in html.get_content()
    [crop] = [part for part in mail.walk() if part.get_content_type() == "image/jpeg"]
    assert crop.get_content() == b"\xff\xd8\xff crop"
    assert f'src="cid:{crop["Content-ID"].strip("<>")}"' in html.get_content()
    [delivered] = deliveries_of(runtime, subscribed.id)
    assert delivered.status == "delivered" and delivered.external_id == mail["Message-ID"]


def test_a_4xx_answer_is_tried_again_and_the_server_recovers(
    email_dispatcher: tuple[Runtime, NotificationDispatcher], mailbox: tuple[Mailbox, int]
) -> None:
    runtime, dispatcher = email_dispatcher
    box, _ = mailbox
    box.refusals = ["451 4.3.0 Mail server temporarily unavailable", "421 4.7.0 Try again later"]
    subscribed = add_email_channel(runtime)
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: box.received, "the mail after the server recovers")

    [delivered] = deliveries_of(runtime, subscribed.id)
    attempts = attempts_of(runtime, delivered.id)
    assert [attempt.outcome for attempt in attempts] == ["retry", "retry", "delivered"]
    assert (attempts[0].error or "").startswith("SMTP 451")
    assert delivered.status == "delivered" and len(box.received) == 1


def test_a_5xx_answer_is_final(
    email_dispatcher: tuple[Runtime, NotificationDispatcher], mailbox: tuple[Mailbox, int]
) -> None:
    runtime, dispatcher = email_dispatcher
    box, _ = mailbox
    box.refusals = ["554 5.7.1 Message rejected"]
    subscribed = add_email_channel(runtime)
    raise_alert(runtime, add_person(runtime))

    dispatch_until(dispatcher, lambda: deliveries_of(runtime, subscribed.id)[0].status == "dead", "the mail dead")

    [dead] = deliveries_of(runtime, subscribed.id)
    assert dead.attempts == 1 and (dead.last_error or "").startswith("SMTP 554")
    assert box.received == []
