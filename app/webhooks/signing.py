"""Standard Webhooks signing (https://www.standardwebhooks.com): this project's own implementation.

`webhook-signature` is `v1,` + base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")), where the key
is the base64 part of the endpoint's `whsec_` secret. Several signatures are separated by spaces, which is how
both secrets sign while one is rotated. The tests check all of it with the spec's own `standardwebhooks` package.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh `whsec_` secret: 32 random bytes, base64 (the spec asks for 24 to 64 bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of `body` sent as message `message_id` at `timestamp` (Unix seconds)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(message_id: str, timestamp: int, body: bytes, secrets_in_use: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers; every secret in use signs (the current one first)."""
    if not secrets_in_use:
        raise ValueError("at least one secret must sign")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, message_id, timestamp, body) for secret in secrets_in_use),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: int, tolerance_seconds: int = 300) -> bool:
    """Whether `body` came with a valid signature of `secret` in its Standard Webhooks `headers` (names in lower
    case), sent within `tolerance_seconds` of `now` (Unix seconds): what a receiver checks before it trusts an event."""
    message_id, timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not message_id or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_seconds:
        return False
    expected = sign(secret, message_id, int(timestamp), body)
    offered = headers.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, signature) for signature in offered)
