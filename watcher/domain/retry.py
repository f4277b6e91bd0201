"""One retry policy for everything that talks to the network: how long to wait before the
next try, and what a server's Retry-After asks for.

A fetch (watcher.ingest.fetch) sleeps between its tries within one check; the outbox
(watcher.delivery.outbox) stores the time of a notification's next try on its row. Both ask
``Backoff.delay``: an exponential step, capped, with "equal jitter" (between half and all of
the step, so retries of many sources or rows spread out yet none comes back almost at once),
and never sooner than a Retry-After. ``retry_after`` reads that header as delta-seconds or
as an HTTP date (RFC 9110 section 10.2.3), for the fetch and the Slack channel alike.

Pure: the caller gives the random draw and the current time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Past this many doublings every step is the cap; it also keeps 2**n a finite float.
_MAX_DOUBLINGS = 64
_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class Backoff:
    """The wait before the next try after some failed ones."""

    base: float  # seconds before the first retry (before jitter)
    cap: float  # no step is longer than this
    max_retry_after: float = 3600.0  # a longer Retry-After is waited this long

    def step(self, failures: int) -> float:
        """``base``, doubling with each failure after the first, up to ``cap``."""
        doublings = min(max(0, failures - 1), _MAX_DOUBLINGS)
        return min(self.cap, self.base * 2.0**doublings)

    def delay(self, failures: int, retry_after: float | None, draw: float) -> float:
        """Seconds until the next try after ``failures`` failed ones (1 after the first).

        ``draw`` is a random number in [0, 1): the wait is between half and all of the step.
        A Retry-After (seconds, as ``retry_after`` reads it) is honoured up to
        ``max_retry_after``: the wait is never shorter than what the server asked for.
        """
        wait = self.step(failures) * (0.5 + draw / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


def retry_after(value: str | None, now: datetime) -> float | None:
    """The seconds a Retry-After header asks to wait from ``now``, or None when there is
    none or it is neither delta-seconds nor an HTTP date.

    ``"120"`` is 120 seconds (a decimal fraction is read too, as some servers send one); an
    HTTP date (``"Wed, 21 Oct 2015 07:28:00 GMT"``) is the time until then, 0 once it has
    passed. A date without a zone is taken as UTC, as HTTP dates are.
    """
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())
