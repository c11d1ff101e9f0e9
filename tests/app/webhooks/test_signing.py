"""The project's Standard Webhooks signing, checked by the spec's own `standardwebhooks` package."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.webhooks.signing import new_secret, sign, signature_headers, verify

BODY = '{"type":"alert.created","data":{"person":"Барак Обама"}}'.encode()


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_signatures_verify_with_the_spec_library() -> None:
    secret, now = new_secret(), int(time.time())
    headers = signature_headers("msg_2b1f", now, BODY, [secret])
    assert headers["webhook-id"] == "msg_2b1f" and headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers)["data"]["person"] == "Барак Обама"


def test_tampering_and_other_secrets_are_caught() -> None:
    secret, now = new_secret(), int(time.time())
    headers = signature_headers("msg_1", now, BODY, [secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"created", b"updated"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_2"})


def test_during_a_rotation_both_secrets_sign() -> None:
    new, old, now = new_secret(), new_secret(), int(time.time())
    headers = signature_headers("msg_1", now, BODY, [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(new).verify(BODY, headers) and Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_the_signature_is_the_spec_example() -> None:
    """The example of the Standard Webhooks specification, byte for byte."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_verify_accepts_what_the_spec_signs_and_refuses_a_changed_body_another_secret_or_an_old_event() -> None:
    secret, now = new_secret(), int(time.time())
    body = b'{"type":"webhook.test"}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(now)}
    headers["webhook-signature"] = Webhook(secret).sign("msg_1", datetime.fromtimestamp(now, UTC), body.decode())
    assert verify(secret, headers, body, now)
    assert not verify(secret, headers, body + b" ", now)
    assert not verify(new_secret(), headers, body, now)
    assert not verify(secret, headers, body, now + 301)
    assert not verify(secret, {**headers, "webhook-signature": ""}, body, now)
