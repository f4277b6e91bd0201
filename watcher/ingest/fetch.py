"""Get one page over HTTP, politely and defensively, recording every attempt.

``fetch`` never raises for network or HTTP trouble: it returns a FetchResult or a FetchError,
each carrying the attempts made, so the pipeline can record them and go on with the next
source. The client is passed in so connections are reused across checks.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from watcher import __version__

USER_AGENT = f"watcher/{__version__} (managed-identities page watcher; python-httpx)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPTED_TYPES = {
    "markdown": ("text/plain", "text/markdown", "text/x-markdown", "application/octet-stream"),
    "html": ("text/html", "application/xhtml+xml"),
    "auto": ("text/",),
}


@dataclass(frozen=True)
class FetchPolicy:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 120.0  # whole fetch, retries and waits included
    max_bytes: int = 5 * 1024 * 1024
    attempts: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    max_redirects: int = 5
    allowed_hosts: tuple[str, ...] = ()  # redirect targets allowed besides https and the same host


@dataclass(frozen=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Attempt:
    url: str
    started_at: float  # time.time()
    duration_ms: int
    status_code: int | None = None
    bytes: int | None = None
    error: str | None = None
    number: int = 1  # the try this request belongs to: 1, then one more per retry

    @property
    def outcome(self) -> str:
        """How the attempt is recorded in the fetches table."""
        if self.error:
            return "failed"
        return "redirect" if self.status_code in REDIRECT_STATUSES else "ok"


@dataclass(frozen=True)
class FetchResult:
    url: str
    status_code: int
    body: bytes  # empty for a 304
    content_type: str | None
    etag: str | None
    last_modified: str | None
    attempts: tuple[Attempt, ...] = field(default=())

    @property
    def not_modified(self) -> bool:
        return self.status_code == 304


@dataclass(frozen=True)
class FetchError:
    message: str
    attempts: tuple[Attempt, ...] = field(default=())


class _Retry(Exception):
    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class _Fatal(Exception):
    pass


def make_client(policy: FetchPolicy = FetchPolicy()) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=policy.connect_timeout, read=policy.read_timeout, write=10.0, pool=10.0
    )
    return httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT})


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def fetch(
    client: httpx.Client,
    url: str,
    fmt: str = "auto",
    validators: Validators = Validators(),
    policy: FetchPolicy = FetchPolicy(),
    *,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> FetchResult | FetchError:
    start = clock()
    attempts: list[Attempt] = []
    for number in range(1, policy.attempts + 1):
        begun = len(attempts)
        try:
            try:
                result = _one_attempt(client, url, fmt, validators, policy, attempts, start, clock)
            finally:  # each request of this try, its redirects too, carries the try's number
                attempts[begun:] = [replace(a, number=number) for a in attempts[begun:]]
            return FetchResult(**{**result.__dict__, "attempts": tuple(attempts)})
        except _Fatal as exc:
            return FetchError(str(exc), tuple(attempts))
        except _Retry as exc:
            if number == policy.attempts:
                return FetchError(f"{exc} (gave up after {number} attempts)", tuple(attempts))
            wait = exc.wait
            if wait is None:
                wait = min(policy.max_backoff, policy.backoff * 2 ** (number - 1))
                wait += random.uniform(0, wait / 2)
            if clock() - start + wait > policy.deadline:
                return FetchError(
                    f"{exc} (no time left to retry within {policy.deadline:g}s)", tuple(attempts)
                )
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def _one_attempt(
    client: httpx.Client,
    url: str,
    fmt: str,
    validators: Validators,
    policy: FetchPolicy,
    attempts: list[Attempt],
    start: float,
    clock: Callable[[], float],
) -> FetchResult:
    headers: dict[str, str] = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    current = url
    for hop in range(policy.max_redirects + 1):
        begun, wall = clock(), time.time()
        status: int | None = None
        size: int | None = None

        try:
            left = max(0.1, policy.deadline - (clock() - start))
            timeout = httpx.Timeout(
                connect=min(policy.connect_timeout, left),
                read=min(policy.read_timeout, left),
                write=10.0,
                pool=10.0,
            )
            with client.stream("GET", current, headers=headers, timeout=timeout) as response:
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    if hop == policy.max_redirects:
                        raise _Fatal(
                            f"more than {policy.max_redirects} redirects from {_host(url)}"
                        )
                    target = urljoin(current, response.headers.get("Location", ""))
                    _check_redirect(current, target, policy)
                    attempts.append(_attempt(current, wall, begun, clock, status, size, None))
                    current = target
                    continue
                if status in RETRY_STATUSES:
                    wait = retry_after_seconds(response.headers.get("Retry-After"), time.time())
                    raise _Retry(f"HTTP {status} from {_host(current)}", wait)
                if status == 304:
                    size = 0
                    attempts.append(_attempt(current, wall, begun, clock, status, size, None))
                    return _result(current, response, b"")
                if status != 200:
                    raise _Fatal(f"HTTP {status} from {_host(current)}")
                _check_type(response.headers.get("Content-Type"), fmt)
                body = _read_capped(response, policy, start, clock)
                size = len(body)
                if not body:
                    raise _Retry(f"empty body from {_host(current)}")
                attempts.append(_attempt(current, wall, begun, clock, status, size, None))
                return _result(current, response, body)
        except (_Retry, _Fatal) as exc:
            attempts.append(_attempt(current, wall, begun, clock, status, size, str(exc)))
            raise
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            msg = f"{type(exc).__name__} for {_host(current)}: {exc}"
            attempts.append(_attempt(current, wall, begun, clock, status, size, msg))
            raise _Fatal(msg) from None
        except httpx.TimeoutException as exc:
            msg = f"timed out ({type(exc).__name__}) talking to {_host(current)}"
            attempts.append(_attempt(current, wall, begun, clock, status, size, msg))
            raise _Retry(msg) from None
        except httpx.HTTPError as exc:
            msg = f"{type(exc).__name__} talking to {_host(current)}: {exc}"
            attempts.append(_attempt(current, wall, begun, clock, status, size, msg))
            raise _Retry(msg) from None
    raise AssertionError("unreachable: the last hop either returns or raises")


def _attempt(
    url: str,
    wall: float,
    begun: float,
    clock: Callable[[], float],
    status: int | None,
    size: int | None,
    error: str | None,
) -> Attempt:
    return Attempt(
        url=url,
        started_at=wall,
        duration_ms=int((clock() - begun) * 1000),
        status_code=status,
        bytes=size,
        error=error,
    )


def _result(url: str, response: httpx.Response, body: bytes) -> FetchResult:
    return FetchResult(
        url=url,
        status_code=response.status_code,
        body=body,
        content_type=response.headers.get("Content-Type"),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _check_redirect(current: str, target: str, policy: FetchPolicy) -> None:
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https"):
        raise _Fatal(f"redirect to an unsupported scheme: {parts.scheme or '(none)'}")
    same_host = parts.netloc == urlsplit(current).netloc
    if not (same_host or parts.scheme == "https" or parts.hostname in policy.allowed_hosts):
        raise _Fatal(f"redirect from {_host(current)} to {parts.netloc} over plain http refused")


def _check_type(content_type: str | None, fmt: str) -> None:
    mime = (content_type or "").split(";")[0].strip().lower()
    if not mime:
        return  # some origins send none; the parser and guard judge the body
    if not any(mime.startswith(t) for t in ACCEPTED_TYPES.get(fmt, ("text/",))):
        raise _Fatal(f"unexpected content type {mime} for a {fmt} source")


def _read_capped(
    response: httpx.Response, policy: FetchPolicy, start: float, clock: Callable[[], float]
) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise _Fatal(f"body of {int(declared)} bytes is over the {policy.max_bytes}-byte cap")
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > policy.max_bytes:
            raise _Fatal(f"body is over the {policy.max_bytes}-byte cap")
        if clock() - start > policy.deadline:
            raise _Fatal(f"download took longer than the {policy.deadline:g}s deadline")
        chunks.append(chunk)
    return b"".join(chunks)
