"""Slack delivery: an incoming webhook (WebhookClient) or chat.postMessage (WebClient).

A message split into parts is posted part by part; each confirmed part is reported as a
delivery unit (``Message.confirm``, recorded at once, before the next part is posted) so a
retry, or the run after a crash, posts only the parts Slack has not confirmed. A part counts as
sent only on Slack's own confirmation: HTTP 200 with the body ``ok`` from a webhook,
``"ok": true`` from the Web API. The sdk's own retry handlers are turned off: retries,
backoff and Retry-After are the dispatcher's, and a hidden resend would be a duplicate.
"""

from __future__ import annotations

import http.client
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from watcher.delivery.channels import SendResult, redact, sdk_logger
from watcher.delivery.render.message import Message
from watcher.delivery.render.slack import slack_part_name
from watcher.domain.retry import retry_after
from watcher.domain.times import utcnow

# Web API errors worth another try; every other error means the request will never work.
TRANSIENT_API_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def _retry_after(headers: Any) -> float | None:
    """The wait a Slack response's Retry-After asks for (seconds or an HTTP date)."""
    if not headers:
        return None
    for name in ("Retry-After", "retry-after"):
        value = headers.get(name)
        if isinstance(value, list):  # the sdk gives a webhook's headers as lists
            value = value[0] if value else None
        if value is not None:
            return retry_after(str(value), utcnow())
    return None


def _snippet(body: object) -> str:
    text = body if isinstance(body, str) else repr(body)
    return " ".join(text.split())[:200]


class _Parts(ABC):
    """Posts the parts of a message in order, skipping the ones already confirmed."""

    secrets: tuple[str, ...]

    @abstractmethod
    def post(self, payload: dict[str, Any]) -> SendResult:
        """Post one part; the subclass knows the endpoint."""

    def parts(self, message: Message) -> Sequence[dict[str, Any]]:
        """The message's parts in this channel's form (Teams' cards for the Teams channel)."""
        return message.slack

    def send(self, message: Message) -> SendResult:
        done: dict[str, str] = {}
        parts = self.parts(message)
        total = len(parts)
        for i, payload in enumerate(parts):
            unit = slack_part_name(i, total)
            if message.finished(unit):
                continue
            try:
                result = self.post(payload)
            except (OSError, http.client.HTTPException) as exc:
                # Connection refused or reset, DNS, TLS, a timeout (TimeoutError is an
                # OSError), a half-read response: the part may or may not have arrived.
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                result = SendResult("retry", redact(reason, self.secrets))
            if result.outcome != "sent":
                where = f" ({unit})" if total > 1 else ""
                error = f"{result.error}{where}" if result.error else None
                return SendResult(result.outcome, error, result.retry_after, done)
            done[unit] = "sent"
            # Recorded before the next part goes out: a kill from here on resends none of it.
            message.confirm({unit: "sent"})
        return SendResult("sent", deliveries=done)


class SlackWebhook(_Parts):
    """An incoming webhook. Its URL is the secret: it never leaves this object."""

    def __init__(self, url: str, *, timeout: float) -> None:
        from slack_sdk.webhook import WebhookClient

        self.secrets = (url,)
        self._client = WebhookClient(
            url,
            timeout=timeout,  # type: ignore[arg-type] # annotated int; urllib takes a float
            retry_handlers=[],
            logger=sdk_logger(),
        )

    def post(self, payload: dict[str, Any]) -> SendResult:
        from slack_sdk.errors import SlackClientError

        try:
            response = self._client.send_dict(payload)
        except SlackClientError as exc:
            # "Invalid URL detected: <the url>": the variable holds no webhook URL at all.
            return SendResult("dead", redact(f"{type(exc).__name__}: {exc}", self.secrets))
        status, body = response.status_code, response.body
        if status == 200 and body.strip() == "ok":
            return SendResult("sent")
        detail = redact(f"HTTP {status}: {_snippet(body)}", self.secrets)
        if status == 429:
            return SendResult("retry", detail, _retry_after(response.headers))
        if status >= 500 or status == 200:
            # A 200 without "ok" is not a confirmation (a proxy, a captive portal): retry.
            return SendResult("retry", detail, _retry_after(response.headers))
        return SendResult("dead", detail)


class SlackWebAPI(_Parts):
    """chat.postMessage with a bot token to one channel id."""

    def __init__(self, token: str, channel_id: str, *, api_url: str, timeout: float) -> None:
        from slack_sdk import WebClient

        self.secrets = (token,)
        self._channel = channel_id
        self._client = WebClient(
            token=token,
            base_url=api_url if api_url.endswith("/") else api_url + "/",
            timeout=timeout,  # type: ignore[arg-type] # annotated int; urllib takes a float
            retry_handlers=[],
            logger=sdk_logger(),
        )

    def post(self, payload: dict[str, Any]) -> SendResult:
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            response = self._client.chat_postMessage(channel=self._channel, **payload)
        except SlackApiError as exc:
            # str(exc) repeats the whole response; build our own message from its parts.
            status = exc.response.status_code
            data = exc.response.data
            error = data.get("error") if isinstance(data, dict) else None
            detail = redact(
                f"Slack API error: {error or 'no error code'} (HTTP {status})", self.secrets
            )
            if status == 429 or error == "ratelimited":
                return SendResult("retry", detail, _retry_after(exc.response.headers))
            if status >= 500 or error in TRANSIENT_API_ERRORS:
                return SendResult("retry", detail, _retry_after(exc.response.headers))
            return SendResult("dead", detail)
        except SlackClientError as exc:
            # A malformed base URL or proxy setting: configuration, not a passing fault.
            return SendResult("dead", redact(f"{type(exc).__name__}: {exc}", self.secrets))
        if response.get("ok") is True:
            return SendResult("sent")
        return SendResult("retry", "Slack answered without ok: true")
