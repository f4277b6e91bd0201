"""A signed JSON webhook, the Standard Webhooks way, for a team's own tooling.

The body is the message's ``webhook`` bytes (``render.webhook``: a versioned schema). Three
headers sign it: ``webhook-id`` (the notification's idempotency key, the same on every retry,
so a receiver can drop a duplicate), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body``). The
secret comes from an environment variable; a ``whsec_`` secret is base64 after the prefix, as
the specification gives them, any other is used as its UTF-8 bytes. Any 2xx is delivered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime

from watcher.delivery.channels import SendResult
from watcher.delivery.channels.http import SecretPost
from watcher.delivery.render.message import Message
from watcher.domain.times import utcnow


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: ``whsec_<base64>`` decoded, else the secret's bytes."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the whsec_ secret is not valid base64") from None
    return secret.encode("utf-8")


def signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of id.timestamp.body>``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class SignedWebhook:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        timeout: float,
        cafile: str | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self._post = SecretPost(
            url,
            timeout=timeout,
            accepted=lambda status: 200 <= status < 300,
            cafile=cafile,
            what="the webhook URL",
        )
        self._secret = secret
        self._now = now

    def send(self, message: Message) -> SendResult:
        try:
            key = signing_key(self._secret)
        except ValueError as exc:
            return SendResult("dead", str(exc))
        stamp = int(self._now().timestamp())
        headers = {
            "webhook-id": message.key,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature(key, message.key, stamp, message.webhook),
        }
        return self._post.post(message.webhook, headers)
