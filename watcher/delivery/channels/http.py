"""One POST of a JSON body to a secret URL (Teams Workflows, a signed webhook) and what the
answer means: accepted, worth another try, or never going to work.

The URL is a secret and is never parsed beyond checking that it is https (Teams' hosts and
paths changed twice in 2025-2026; tools that parsed them broke): it is registered with the
one redactor before any request, and every error is redacted. Redirects are not followed (a
POST redirected is a configuration to fix, and would carry the body elsewhere). A timeout,
a refused or reset connection, 408, 429 and 5xx are retried, after Retry-After when the
answer gives one (``watcher.domain.retry``); any other status is dead.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping

import httpx

from watcher.delivery.channels import SendResult, is_https, redact, scrub_logger
from watcher.domain.retry import retry_after
from watcher.domain.times import utcnow

RETRIED_STATUS = frozenset({408, 429})


class SecretPost:
    """POSTs to one URL; ``accepted`` decides which statuses are a confirmation."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        accepted: Callable[[int], bool],
        cafile: str | None = None,
        what: str = "the URL",
    ) -> None:
        self.secrets = (url,)
        scrub_logger("httpx")  # it logs "HTTP Request: POST <the url>" at INFO
        self._url = url
        self._accepted = accepted
        self._timeout = timeout
        self._cafile = cafile
        self._what = what

    def post(self, body: bytes, headers: Mapping[str, str]) -> SendResult:
        if not is_https(self._url):
            return SendResult("dead", f"{self._what} is not an https:// URL")
        verify: ssl.SSLContext | bool = True
        if self._cafile:
            verify = ssl.create_default_context(cafile=self._cafile)
        try:
            with httpx.Client(timeout=self._timeout, verify=verify, follow_redirects=False) as c:
                response = c.post(
                    self._url,
                    content=body,
                    headers={"Content-Type": "application/json; charset=utf-8", **headers},
                )
        except httpx.HTTPError as exc:
            # A timeout, a refused or reset connection, a half-read answer: it may or may
            # not have arrived; TLS failures are configuration, but they too may pass.
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return SendResult("retry", redact(reason, self.secrets))
        return self._outcome(response)

    def _outcome(self, response: httpx.Response) -> SendResult:
        status = response.status_code
        if self._accepted(status):
            return SendResult("sent")
        snippet = " ".join(response.text.split())[:200]
        detail = redact(f"HTTP {status}: {snippet}" if snippet else f"HTTP {status}", self.secrets)
        if status in RETRIED_STATUS or status >= 500:
            wait = retry_after(response.headers.get("Retry-After"), utcnow())
            return SendResult("retry", detail, wait)
        return SendResult("dead", detail)
