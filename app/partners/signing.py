"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The secret is `whsec_` + base64 of 32 random bytes; a signature is `v1,` +
base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")). While a
rotated-out secret is still valid, each message carries one signature per
secret, separated by spaces, as the spec allows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
KEY_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


class Signer:
    """Signs with every valid secret, their keys decoded once (a dispatcher signs
    a whole batch with one)."""

    def __init__(self, secrets_: Iterable[str]) -> None:
        self.keys = [_key(s) for s in secrets_]

    def headers(self, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
        """The three Standard Webhooks headers; one `v1,` signature per secret."""
        signed = f"{webhook_id}.{timestamp}.".encode() + body
        signatures = (
            "v1," + base64.b64encode(hmac.new(k, signed, hashlib.sha256).digest()).decode()
            for k in self.keys
        )
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signatures),
        }


def headers(
    secrets_: Iterable[str], webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three Standard Webhooks headers, signed with every valid secret."""
    return Signer(secrets_).headers(webhook_id, timestamp, body)
