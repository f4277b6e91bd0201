"""Get one page over HTTP, politely and defensively, recording every attempt.

``fetch`` never raises for network or HTTP trouble: it returns a FetchResult or a FetchError,
each carrying the attempts made, so the pipeline can record them and go on with the next
source. Each request has a connection of its own, so the watchdog (watcher.ingest.watchdog)
can end it at its deadline however slowly the origin sends. The waits between
tries are the one retry policy (watcher.domain.retry), which the outbox follows too.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

import httpx

from watcher import __version__
from watcher.domain.retry import Backoff, retry_after
from watcher.domain.times import utcnow
from watcher.ingest.client import make_client as make_client
from watcher.ingest.watchdog import Watchdog

USER_AGENT = f"watcher/{__version__} (managed-identities page watcher; python-httpx)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ACCEPTED_TYPES = {
    "markdown": ("text/plain", "text/markdown", "text/x-markdown", "application/octet-stream"),
    "html": ("text/html", "application/xhtml+xml"),
    "auto": ("text/",),
}
# What the body may come as: all zlib can inflate a piece at a time, so the cap holds.
ACCEPTED_ENCODINGS = ("identity", "gzip", "x-gzip", "deflate")


@dataclass(frozen=True)
class FetchPolicy:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 120.0  # whole fetch, retries and waits included
    max_bytes: int = 5 * 1024 * 1024
    attempts: int = 4
    backoff: float = 1.0  # the first retry's wait (before jitter), doubling up to max_backoff
    max_backoff: float = 30.0
    max_redirects: int = 5
    allowed_hosts: tuple[str, ...] = ()  # redirect targets allowed besides https and the same host

    @property
    def schedule(self) -> Backoff:
        """The waits between tries: the retry policy the outbox follows too."""
        return Backoff(self.backoff, self.max_backoff)


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
    """The page at ``url``, tried up to ``policy.attempts`` times within ``policy.deadline``
    seconds: a transient failure (a 429 or 5xx, a timeout, a dropped connection, an empty
    body) is retried after the policy's backoff, never sooner than a Retry-After; a wait
    that would end past the deadline is not started. Every try and redirect hop is in the
    result's ``attempts``. ``sleep`` is how the waits are spent (the daemon's ends at once
    on shutdown)."""
    start = clock()
    attempts: list[Attempt] = []
    for number in range(1, policy.attempts + 1):
        begun = len(attempts)
        try:
            try:
                result = _one_attempt(client, url, fmt, validators, policy, attempts, start, clock)
            finally:  # each request of this try, its redirects too, carries the try's number
                attempts[begun:] = [replace(a, number=number) for a in attempts[begun:]]
            return replace(result, attempts=tuple(attempts))
        except _Fatal as exc:
            return FetchError(str(exc), tuple(attempts))
        except _Retry as exc:
            if number == policy.attempts:
                return FetchError(f"{exc} (gave up after {number} attempts)", tuple(attempts))
            wait = policy.schedule.delay(number, exc.wait, random.random())
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
    """One try: GET ``url``, following redirects, each hop recorded in ``attempts``. Raises
    _Retry for a transient failure and _Fatal for one no retry can mend."""
    headers: dict[str, str] = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    current = url
    for hop_number in range(policy.max_redirects + 1):
        hop = _Hop(current, time.time(), clock())
        try:
            answer = _exchange(client, hop, headers, fmt, policy, start, clock)
            if isinstance(answer, str) and hop_number == policy.max_redirects:
                raise _Fatal(f"more than {policy.max_redirects} redirects from {_host(url)}")
        except (_Retry, _Fatal) as exc:
            attempts.append(hop.attempt(clock, str(exc)))
            raise
        attempts.append(hop.attempt(clock))
        if isinstance(answer, FetchResult):
            return answer
        current = answer
    raise AssertionError("unreachable: the last hop either returns or raises")


def _exchange(
    client: httpx.Client,
    hop: _Hop,
    headers: dict[str, str],
    fmt: str,
    policy: FetchPolicy,
    start: float,
    clock: Callable[[], float],
) -> FetchResult | str:
    """One request and its answer, the headers in within the read timeout and all of it
    within what is left of the deadline, however slowly the origin sends."""
    left = policy.deadline - (clock() - start)
    failure: _Retry | _Fatal | None = None
    # The watchdog must see the request connect: a connection of its own, never reused.
    with Watchdog(min(policy.read_timeout, left), left) as dog:
        try:
            with client.stream(
                "GET",
                hop.url,
                headers={**headers, "Accept-Encoding": "gzip, deflate", "Connection": "close"},
                timeout=_time_left(policy, start, clock),
                extensions={"trace": dog.trace},
            ) as response:
                hop.status = response.status_code
                answer = _answer(response, hop, fmt, policy)
        except (_Retry, _Fatal) as exc:
            failure = exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            failure = _transport_failure(exc, hop.url)
    # Whatever the cut-off read made of it (an error, or a body that merely ended early),
    # a request the watchdog ended failed for want of time.
    if dog.fired == "headers":
        failure = _Retry(
            f"timed out (no complete headers within {policy.read_timeout:g}s) "
            f"talking to {_host(hop.url)}"
        )
    elif dog.fired == "deadline":
        failure = _Fatal(
            f"the answer from {_host(hop.url)} took longer than the {policy.deadline:g}s deadline"
        )
    if failure is not None:
        raise failure from None
    return answer


@dataclass
class _Hop:
    """One request of a try, as it went so far: what its Attempt will record."""

    url: str
    wall: float  # time.time() when it began
    begun: float  # the clock when it began
    status: int | None = None
    size: int | None = None

    def attempt(self, clock: Callable[[], float], error: str | None = None) -> Attempt:
        return Attempt(
            url=self.url,
            started_at=self.wall,
            duration_ms=int((clock() - self.begun) * 1000),
            status_code=self.status,
            bytes=self.size,
            error=error,
        )


def _time_left(policy: FetchPolicy, start: float, clock: Callable[[], float]) -> httpx.Timeout:
    """The request's timeouts, none running past the fetch's deadline."""
    left = max(0.1, policy.deadline - (clock() - start))
    return httpx.Timeout(
        connect=min(policy.connect_timeout, left),
        read=min(policy.read_timeout, left),
        write=10.0,
        pool=10.0,
    )


def _answer(
    response: httpx.Response,
    hop: _Hop,
    fmt: str,
    policy: FetchPolicy,
) -> FetchResult | str:
    """What one response comes to: the page (or a 304), or the URL a redirect points at.
    Raises _Retry or _Fatal for a response that is neither."""
    status = response.status_code
    if status in REDIRECT_STATUSES:
        target: str = urljoin(hop.url, response.headers.get("Location", ""))
        _check_redirect(hop.url, target, policy)
        return target
    if status in RETRY_STATUSES:
        wait = retry_after(response.headers.get("Retry-After"), utcnow())
        raise _Retry(f"HTTP {status} from {_host(hop.url)}", wait)
    if status == 304:
        hop.size = 0
        return _result(hop.url, response, b"")
    if status != 200:
        raise _Fatal(f"HTTP {status} from {_host(hop.url)}")
    _check_type(response.headers.get("Content-Type"), fmt)
    body = _read_capped(response, policy)
    hop.size = len(body)
    if not body:
        raise _Retry(f"empty body from {_host(hop.url)}")
    return _result(hop.url, response, body)


def _transport_failure(exc: httpx.HTTPError | httpx.InvalidURL, url: str) -> _Retry | _Fatal:
    """A request that got no usable answer: a URL or protocol no retry mends, else a
    timeout or a connection trouble worth another try."""
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.LocalProtocolError):
        return _Fatal(f"{type(exc).__name__} for {_host(url)}: {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return _Retry(f"timed out ({type(exc).__name__}) talking to {_host(url)}")
    return _Retry(f"{type(exc).__name__} talking to {_host(url)}: {exc}")


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


def _read_capped(response: httpx.Response, policy: FetchPolicy) -> bytes:
    """The body, inflated if it came compressed, refused once it passes the cap. It inflates
    a piece at a time, never past the cap, so a small gzip of zeros never balloons."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > policy.max_bytes:
        raise _Fatal(f"body of {int(declared)} bytes is over the {policy.max_bytes}-byte cap")
    host = _host(str(response.url))
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ACCEPTED_ENCODINGS:
        raise _Fatal(f"unsupported Content-Encoding {encoding} from {host}")
    inflater: zlib._Decompress | None = None
    head = b""  # the first bytes of a compressed body, until they tell how to read it
    body = bytearray()
    for data in response.iter_raw():
        if encoding != "identity" and inflater is None:
            head, data = head + data, b""
            if len(head) < 2:
                continue  # a zlib header is two bytes: wait for both before choosing
            inflater, data = zlib.decompressobj(_wbits(encoding, head)), head
        while data:
            if encoding == "identity" or inflater is None:
                piece, data = data, b""
            else:
                if inflater.eof:
                    # A gzip body may be several members one after another (RFC 1952):
                    # each is read in turn, never cut to the first. Zeros after the last
                    # (padding some servers add) and bytes after a complete deflate stream
                    # are no page: dropped, as Python's gzip and the browsers drop them.
                    data = data.lstrip(b"\0")
                    if encoding != "gzip" or not data.startswith(b"\x1f"):
                        break
                    inflater = zlib.decompressobj(_wbits(encoding, data))
                try:
                    piece = inflater.decompress(data, policy.max_bytes + 1 - len(body))
                except zlib.error as exc:
                    raise _Retry(f"undecodable {encoding} body from {host}: {exc}") from None
                data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
            body += piece
            if len(body) > policy.max_bytes:
                raise _Fatal(f"body is over the {policy.max_bytes}-byte cap")
    if encoding != "identity" and (bool(head) if inflater is None else not inflater.eof):
        raise _Retry(f"truncated {encoding} body from {host}")
    return bytes(body)


def _wbits(encoding: str, first: bytes) -> int:
    """How zlib reads a body in ``encoding`` that begins with ``first``."""
    if encoding != "deflate":
        return 16 + zlib.MAX_WBITS  # gzip's header and trailer
    # HTTP's deflate is zlib-wrapped, but some servers send it raw: tell by the zlib header.
    wrapped = len(first) >= 2 and first[0] & 0x0F == 8 and int.from_bytes(first[:2]) % 31 == 0
    return zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS
