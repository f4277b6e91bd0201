"""Notification channels behind one small Protocol, and the one place secrets are read.

A ``Channel`` sends one rendered ``Message`` and says what the far end confirmed: a
``SendResult`` of ``sent`` (the channel accepted it), ``retry`` (a timeout, a connection
error, a 5xx, a 429 or an SMTP 4xx: try again later) or ``dead`` (it will never work as
configured: a 4xx, ``invalid_auth``, ``channel_not_found``, an SMTP 5xx). Channels never
raise for delivery failures, and never retry on their own: ``watcher.delivery.outbox`` owns the
retries, the backoff and the outbox state.

A channel that delivers a message in units (the parts of a split Slack message, email
recipients) skips each unit ``message.finished(unit)`` and calls ``message.confirm({unit:
state})`` as soon as the far end settles one (``sent``, or ``refused: <reason>``), before it
sends the next: the dispatcher records it durably then and there, so a crash mid-message
resends only the unit in flight. It lets what ``confirm`` raises propagate (the outbox could
not record it: nothing more should be sent), and reports every unit in
``SendResult.deliveries`` too. A channel that sends in one piece needs neither.

Secrets (webhook URLs, tokens, SMTP credentials) are read from the environment by
``build_channel``, at send time, and nowhere else. Every error a channel reports goes
through ``redact`` first, and slack-sdk gets a logger of ours that never logs at DEBUG
(where the sdk would print the webhook URL) and scrubs known secrets from what it does log.

The channels: ``slack``, ``teams`` (a Teams Workflows webhook), ``webhook`` (signed JSON),
``apprise`` (an optional extra), ``email`` and ``stdout``; Teams', the webhook's and apprise's
URLs and the webhook's signing secret are secrets like Slack's.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, TextIO

from watcher.delivery.render.message import Message
from watcher.storage.dialect import redact, register_secret

if TYPE_CHECKING:
    from watcher.config import RouteConfig

Outcome = Literal["sent", "retry", "dead"]


@dataclass(frozen=True)
class SendResult:
    """What the channel confirmed.

    ``deliveries`` maps each delivery unit this attempt concerned (an email recipient, one
    part of a split Slack message) to ``sent``, ``refused: <reason>`` (permanent) or
    ``deferred: <reason>`` (try again). ``error`` is already redacted.
    """

    outcome: Outcome
    error: str | None = None
    retry_after: float | None = None
    deliveries: Mapping[str, str] = field(default_factory=dict)


class Channel(Protocol):
    def send(self, message: Message) -> SendResult: ...


class MissingSecret(Exception):
    """A route's secret environment variable is not set (the message names the variable)."""


# --- redaction --------------------------------------------------------------------------
# The one redactor is watcher.storage.dialect's (the journal's too): the channels register
# each secret with it as they read it, and report every error through it.


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def sdk_logger() -> logging.Logger:
    """The logger handed to slack-sdk clients: INFO and up only, secrets scrubbed.

    slack-sdk decides whether to log a request (URL, body and headers) by looking at the
    level set on its logger itself, so this logger's own level, not the root's, keeps the
    webhook URL out of the logs even when someone runs with DEBUG logging.
    """
    logger = logging.getLogger("watcher.delivery.channels.slack_sdk")
    if logger.level == logging.NOTSET or logger.level < logging.INFO:
        logger.setLevel(logging.INFO)
    if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
        logger.addFilter(_RedactingFilter())
    return logger


def scrub_logger(name: str) -> None:
    """Scrub known secrets from what the library logger ``name`` logs itself (httpx logs each
    request's full URL at INFO, and a Teams or webhook URL is a secret)."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _RedactingFilter) for f in logger.filters):
        logger.addFilter(_RedactingFilter())


def _secret(route: RouteConfig, key: str, environ: Mapping[str, str]) -> str:
    name: str | None = getattr(route, key)
    assert name is not None
    value = environ.get(name, "")
    if not value:
        raise MissingSecret(
            f"route {route.name}: {key}: the environment variable {name} is not set"
        )
    register_secret(value)
    return value


def _optional_secret(route: RouteConfig, key: str, environ: Mapping[str, str]) -> str | None:
    return _secret(route, key, environ) if getattr(route, key) is not None else None


def build_channel(
    route: RouteConfig, environ: Mapping[str, str], *, stdout: TextIO | None = None
) -> Channel:
    """The channel of a route, with its secrets read from ``environ`` now.

    Raises MissingSecret when a variable the route names is unset or empty.
    """
    if route.channel == "stdout":
        from watcher.delivery.channels.stdout import StdoutChannel

        return StdoutChannel(stdout or sys.stdout)
    if route.channel == "slack":
        from watcher.delivery.channels.slack import SlackWebAPI, SlackWebhook

        if route.webhook_url_env:
            return SlackWebhook(_secret(route, "webhook_url_env", environ), timeout=route.timeout)
        assert route.channel_id is not None
        return SlackWebAPI(
            _secret(route, "token_env", environ),
            route.channel_id,
            api_url=route.api_url,
            timeout=route.timeout,
        )
    # The standard OpenSSL variable, read from the same environment as the secrets so a
    # private CA (or a test's self-signed certificate) can be trusted.
    cafile = environ.get("SSL_CERT_FILE") or None
    if route.channel == "teams":
        from watcher.delivery.channels.teams import TeamsWorkflow

        url = _secret(route, "webhook_url_env", environ)
        return TeamsWorkflow(url, timeout=route.timeout, cafile=cafile)
    if route.channel == "webhook":
        from watcher.delivery.channels.webhook import SignedWebhook

        return SignedWebhook(
            _secret(route, "url_env", environ),
            _secret(route, "secret_env", environ),
            timeout=route.timeout,
            cafile=cafile,
        )
    if route.channel == "apprise":
        from watcher.delivery.channels.apprise import AppriseChannel

        url = _secret(route, "url_env", environ)
        return AppriseChannel(url, route=route.name, timeout=route.timeout)
    from watcher.delivery.channels.email import EmailChannel, SmtpSettings

    assert route.smtp_host is not None and route.from_ is not None
    return EmailChannel(
        SmtpSettings(
            host=route.smtp_host,
            port=route.smtp_port,
            security=route.smtp_security,
            username=_optional_secret(route, "smtp_username_env", environ),
            password=_optional_secret(route, "smtp_password_env", environ),
            sender=route.from_,
            recipients=route.to,
            timeout=route.timeout,
            cafile=cafile,
        )
    )


def missing_secrets(route: RouteConfig, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(key, variable) of each secret variable the route names that is unset or empty."""
    return [(key, name) for key, name in route.secret_envs() if not environ.get(name)]


# The key whose variable holds the URL a channel posts to over https only (channels.http).
HTTPS_ONLY = {"teams": "webhook_url_env", "webhook": "url_env"}


def is_https(url: str) -> bool:
    """Whether a secret URL may be posted to: checked, never parsed further."""
    return url.startswith("https://")


def plain_http_urls(route: RouteConfig, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(key, variable) of a set URL this route could never post to (not https)."""
    key = HTTPS_ONLY.get(route.channel)
    name = getattr(route, key) if key else None
    value = environ.get(name) if name else None
    return [(key, name)] if key and name and value and not is_https(value) else []


__all__ = [
    "Channel",
    "Message",
    "MissingSecret",
    "SendResult",
    "build_channel",
    "is_https",
    "missing_secrets",
    "plain_http_urls",
    "redact",
]
