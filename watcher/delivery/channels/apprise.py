"""The long tail of services (ntfy, Discord, PagerDuty, Telegram, Matrix…) through apprise, an
optional extra (``pip install 'azure-mi-watcher[apprise]'``).

The route's ``url_env`` holds an apprise URL, a secret like a webhook's: it is registered
with the one redactor as it is read, apprise's own logger is scrubbed, and no error says
more than the kind of service. The message goes as the plain text the email's text part and
stdout show, under the short subject as title. apprise answers only yes or no, so a yes is
``sent`` and a no is ``retry`` (the outbox's backoff decides when); a URL apprise does not
understand can never work as configured: ``dead``.
"""

from __future__ import annotations

import importlib.util
import re
from typing import Any

from watcher.delivery.channels import MissingSecret, SendResult, redact, scrub_logger
from watcher.delivery.render.message import Message
from watcher.domain.describe import clean
from watcher.storage.dialect import register_secret

EXTRA = "azure-mi-watcher[apprise]"
TITLE_MAX = 120


def installed() -> bool:
    """True when the apprise extra is importable (``config check`` asks before anything sends)."""
    return importlib.util.find_spec("apprise") is not None


def _netloc_tokens(url: str) -> list[str]:
    """What of an apprise URL's host part is a token rather than a host name: apprise URLs
    put ids and tokens there (``tgram://BOTTOKEN/CHAT``, ``discord://ID/TOKEN``). Its path
    and query are registered by ``register_secret`` already."""
    netloc = url.partition("://")[2].partition("/")[0].partition("?")[0]
    return [p for p in re.split(r"[@:]", netloc) if len(p) >= 6 and "." not in p]


class MissingExtra(MissingSecret):
    """The apprise extra is not installed: retried like a missing secret, since installing it
    should not lose the message."""


class AppriseChannel:
    def __init__(self, url: str, *, route: str, timeout: float) -> None:
        if not installed():
            raise MissingExtra(
                f"route {route}: channel apprise needs the apprise extra: pip install '{EXTRA}'"
            )
        self._url = url
        self._timeout = timeout
        self.secrets = (url, *_netloc_tokens(url))
        for token in self.secrets[1:]:
            register_secret(token)
        # apprise logs through its own logger, and urllib3 (under requests) logs each request
        # line at DEBUG: a service's token may be in either.
        scrub_logger("apprise")
        # A logger's filter does not see its children's records: each that logs a URL.
        scrub_logger("urllib3.connectionpool")
        scrub_logger("urllib3.util.retry")

    def _target(self) -> Any:
        import apprise

        target = apprise.Apprise()
        if not target.add(self._url):
            return None
        for service in target:
            # The route's timeout, for each connect and read, like the other channels'.
            service.socket_connect_timeout = self._timeout
            service.socket_read_timeout = self._timeout
        return target

    def send(self, message: Message) -> SendResult:
        import apprise

        target = self._target()
        if target is None:
            return SendResult("dead", "apprise does not recognise the URL in url_env")
        kinds = ", ".join(sorted({clean(getattr(s, "service_name", "?"), 40) for s in target}))
        ok = target.notify(
            body=message.text,
            title=clean(message.subject, TITLE_MAX),
            body_format=apprise.NotifyFormat.TEXT,
        )
        if ok:
            return SendResult("sent")
        return SendResult("retry", redact(f"apprise ({kinds}) did not deliver it", self.secrets))


__all__ = ["EXTRA", "AppriseChannel", "MissingExtra", "installed"]
