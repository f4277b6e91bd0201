"""Fetch faults against real local servers: whatever the origin does, history stays intact.

For each fault: nothing is stored as the current snapshot, no change is recorded, the attempt
is in `fetches`, and the next good fetch diffs against the last good snapshot.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from werkzeug import Request, Response

from tests.conftest import EN_CHAIN
from tests.origin import drip_origin, page_head
from watcher.config import SourceConfig
from watcher.domain.outcome import Outcome
from watcher.ingest.check import check_source
from watcher.ingest.fetch import FetchPolicy, make_client
from watcher.storage.engine import session_factory
from watcher.storage.models import ChangeRow, Fetch, Snapshot

GOOD_1 = EN_CHAIN[1].read_bytes()
GOOD_2 = EN_CHAIN[2].read_bytes()
# Good pages are fetched patiently, so a loaded CI machine cannot fail a baseline.
GOOD = FetchPolicy(attempts=3, backoff=0.05, max_backoff=0.2, read_timeout=10, deadline=30)
FAST = FetchPolicy(
    attempts=2, backoff=0.01, max_backoff=0.05, read_timeout=0.5, connect_timeout=0.5, deadline=10
)


@dataclass
class Origin:
    """What the fault handler saw: request times and headers."""

    times: list[float] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def check(engine: Engine, url: str, policy: FetchPolicy = FAST, fmt: str = "markdown") -> Outcome:
    cfg = SourceConfig(name="mi", url=url, format=fmt)  # type: ignore[arg-type]
    with make_client(policy) as client:
        return check_source(engine, client, cfg, policy=policy)


def counts(engine: Engine) -> tuple[int, int, int]:
    with session_factory(engine)() as s:
        snaps = s.scalar(select(func.count()).select_from(Snapshot)) or 0
        changes = s.scalar(select(func.count()).select_from(ChangeRow)) or 0
        fetches = s.scalar(select(func.count()).select_from(Fetch)) or 0
    return snaps, changes, fetches


def current(engine: Engine) -> int | None:
    with session_factory(engine)() as s:
        return s.scalar(
            select(Snapshot.id)
            .where(Snapshot.state == "accepted")
            .order_by(Snapshot.taken_at.desc(), Snapshot.id.desc())
        )


def last_fetch_errors(engine: Engine, n: int) -> list[str | None]:
    with session_factory(engine)() as s:
        rows = s.scalars(select(Fetch).order_by(Fetch.id.desc()).limit(n)).all()
    return [r.error for r in rows]


def serve_good(httpserver: HTTPServer, body: bytes) -> str:
    httpserver.clear()
    httpserver.expect_request("/page.md").respond_with_data(
        body, content_type="text/plain; charset=utf-8"
    )
    return httpserver.url_for("/page.md")


@contextmanager
def raw_origin(reply: Callable[[socket.socket], None]) -> Iterator[str]:
    """A TCP server whose replies no HTTP library would send: resets, truncated bodies."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    reply(conn)
                except OSError:
                    pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/page.md"
    finally:
        stop.set()
        thread.join()
        server.close()


def reset(conn: socket.socket) -> None:
    # SO_LINGER with a zero timeout makes close() send RST: a connection reset by peer.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")


def truncated(conn: socket.socket) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
        b"Connection: close\r\n\r\n" % len(GOOD_2)
    )
    conn.sendall(head + GOOD_2[:1000])


def fault_handlers(origin: Origin) -> dict[str, Callable[[Request], Response]]:
    def record(request: Request) -> None:
        origin.times.append(time.monotonic())
        origin.headers.append(dict(request.headers))

    def status(code: int, **headers: str) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            record(request)
            return Response(b"oops", status=code, headers=headers)

        return handler

    def slow(request: Request) -> Response:
        record(request)
        time.sleep(1.2)
        return Response(GOOD_2, content_type="text/plain")

    def empty(request: Request) -> Response:
        record(request)
        return Response(b"", content_type="text/plain")

    def login_html(request: Request) -> Response:
        record(request)
        page = b"<html><body><h1>Sign in</h1><form><input name=user></form></body></html>"
        return Response(page, content_type="text/html; charset=utf-8")

    def huge_declared(request: Request) -> Response:
        record(request)
        return Response(b"x" * (10 * 1024 * 1024), content_type="text/plain")

    def huge_streamed(request: Request) -> Response:
        record(request)
        chunk = b"| a | b |\n" * 10_000

        def body() -> Iterator[bytes]:
            for _ in range(110):  # about 11 MB, no Content-Length
                yield chunk

        return Response(body(), content_type="text/plain")

    def wrong_type(request: Request) -> Response:
        record(request)
        return Response(b'{"not": "markdown"}', content_type="application/json")

    def redirect_loop(request: Request) -> Response:
        record(request)
        return Response(b"", status=302, headers={"Location": "/page.md"})

    def redirect_elsewhere(request: Request) -> Response:
        record(request)
        return Response(b"", status=301, headers={"Location": "http://127.0.0.2:9/page.md"})

    return {
        "500": status(500),
        "503": status(503),
        "429": status(429, **{"Retry-After": "1"}),
        "timeout": slow,
        "empty 200": empty,
        "html login page for a markdown source": login_html,
        "10 MB body": huge_declared,
        "10 MB streamed body": huge_streamed,
        "wrong content type": wrong_type,
        "redirect loop": redirect_loop,
        "redirect to another host over http": redirect_elsewhere,
    }


FAULTS = list(fault_handlers(Origin()))


def assert_history_survives(
    engine: Engine, httpserver: HTTPServer, before: tuple[int, int, int], baseline: int
) -> None:
    snaps, changes, _ = counts(engine)
    assert (snaps, changes) == before[:2], "a fault stored a snapshot or a change"
    assert current(engine) == baseline
    # The next good fetch diffs against the last good snapshot.
    outcome = check(engine, serve_good(httpserver, GOOD_2), GOOD)
    assert outcome.result == "changed", outcome
    with session_factory(engine)() as s:
        pairs = set(s.execute(select(ChangeRow.from_snapshot_id, ChangeRow.to_snapshot_id)).all())
    assert pairs == {(baseline, outcome.snapshot_id)}


@pytest.mark.parametrize("fault", FAULTS)
def test_http_fault(fault: str, engine: Engine, httpserver: HTTPServer) -> None:
    baseline = check(engine, serve_good(httpserver, GOOD_1), GOOD)
    assert baseline.result == "baseline"
    before = counts(engine)

    origin = Origin()
    httpserver.clear()
    httpserver.expect_request("/page.md").respond_with_handler(fault_handlers(origin)[fault])
    outcome = check(engine, httpserver.url_for("/page.md"))

    assert outcome.result == "failed", outcome
    assert outcome.error
    _, _, fetches = counts(engine)
    assert fetches > before[2], "the failed attempt was not recorded"
    errors = last_fetch_errors(engine, fetches - before[2])
    assert errors[0], f"the failure is not in the last recorded attempt: {errors}"
    assert errors[0] in (outcome.error or "")
    assert_history_survives(engine, httpserver, before, baseline.snapshot_id or 0)


def test_retries_5xx_then_succeeds(engine: Engine, httpserver: HTTPServer) -> None:
    check(engine, serve_good(httpserver, GOOD_1), GOOD)
    httpserver.clear()
    httpserver.expect_ordered_request("/page.md").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/page.md").respond_with_data(
        GOOD_2, content_type="text/plain"
    )
    outcome = check(engine, httpserver.url_for("/page.md"))
    assert outcome.result == "changed"
    assert last_fetch_errors(engine, 2)[1] == f"HTTP 503 from {httpserver.host}:{httpserver.port}"


def test_429_retry_after_is_honoured(engine: Engine, httpserver: HTTPServer) -> None:
    origin = Origin()
    httpserver.expect_request("/page.md").respond_with_handler(fault_handlers(origin)["429"])
    outcome = check(engine, httpserver.url_for("/page.md"))
    assert outcome.result == "failed"
    assert len(origin.times) == 2
    assert origin.times[1] - origin.times[0] >= 1.0


def test_timeout_fires_and_is_retried(engine: Engine, httpserver: HTTPServer) -> None:
    origin = Origin()
    httpserver.expect_request("/page.md").respond_with_handler(fault_handlers(origin)["timeout"])
    started = time.monotonic()
    outcome = check(engine, httpserver.url_for("/page.md"))
    assert outcome.result == "failed" and "timed out" in (outcome.error or "")
    errors = last_fetch_errors(engine, 10)
    assert len(errors) == 2 and all("timed out" in (e or "") for e in errors)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("reply", [reset, truncated], ids=["connection reset", "truncated body"])
def test_transport_fault(
    reply: Callable[[socket.socket], None], engine: Engine, httpserver: HTTPServer
) -> None:
    baseline = check(engine, serve_good(httpserver, GOOD_1), GOOD)
    before = counts(engine)
    with raw_origin(reply) as url:
        outcome = check(engine, url)
    assert outcome.result == "failed", outcome
    _, _, fetches = counts(engine)
    assert fetches - before[2] == FAST.attempts
    assert_history_survives(engine, httpserver, before, baseline.snapshot_id or 0)


@pytest.mark.parametrize(
    ("policy", "body_drips", "bound", "error"),
    [
        (FetchPolicy(attempts=1, read_timeout=2, deadline=30), False, 2, "timed out (no complete"),
        (FetchPolicy(attempts=3, read_timeout=10, deadline=3), False, 3, "3s deadline"),
        (FetchPolicy(attempts=1, read_timeout=10, deadline=3), True, 3, "3s deadline"),
    ],
    ids=["headers within the timeout", "headers within the deadline", "body within the deadline"],
)
def test_an_answer_dripped_a_byte_a_second_is_cut_off(
    policy: FetchPolicy,
    body_drips: bool,
    bound: float,
    error: str,
    engine: Engine,
    httpserver: HTTPServer,
) -> None:
    """No read waits a second, so no read times out: the timeout bounds the wait for the
    headers, and the deadline the whole exchange (a check once ran 22 minutes, its lease ran
    out and a second check of the same source started)."""
    baseline = check(engine, serve_good(httpserver, GOOD_1), GOOD)
    before = counts(engine)
    with drip_origin(page_head(GOOD_2), GOOD_2, head_fast=body_drips) as drip:
        started = time.monotonic()
        outcome = check(engine, drip.url, policy)
        took = time.monotonic() - started
    assert took < bound + 1.5, f"the check ran {took:.1f}s: {outcome}"
    assert outcome.result == "failed" and error in (outcome.error or ""), outcome
    assert "\n" not in (outcome.error or "")
    errors = last_fetch_errors(engine, counts(engine)[2] - before[2])
    assert errors[0] and errors[0] in (outcome.error or ""), errors
    assert_history_survives(engine, httpserver, before, baseline.snapshot_id or 0)


def test_login_page_served_as_text_is_quarantined_not_diffed(
    engine: Engine, httpserver: HTTPServer
) -> None:
    baseline = check(engine, serve_good(httpserver, GOOD_1), GOOD)
    before = counts(engine)
    httpserver.clear()
    httpserver.expect_request("/page.md").respond_with_data(
        "Please sign in to continue.", content_type="text/plain"
    )
    outcome = check(engine, httpserver.url_for("/page.md"))
    assert outcome.result == "quarantined"
    snaps, changes, _ = counts(engine)
    assert (snaps, changes) == (before[0] + 1, 0)
    assert current(engine) == baseline.snapshot_id


def test_etag_and_304(engine: Engine, httpserver: HTTPServer) -> None:
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(GOOD_1, content_type="text/plain", headers={"ETag": '"v1"'})

    httpserver.expect_request("/page.md").respond_with_handler(handler)
    url = httpserver.url_for("/page.md")
    assert check(engine, url).result == "baseline"
    before = counts(engine)
    assert check(engine, url).result == "not_modified"
    assert seen[1]["If-None-Match"] == '"v1"'
    snaps, changes, fetches = counts(engine)
    assert (snaps, changes, fetches) == (before[0], before[1], before[2] + 1)


def test_last_modified_and_304(engine: Engine, httpserver: HTTPServer) -> None:
    stamp = "Tue, 09 Nov 2021 10:00:00 GMT"
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-Modified-Since") == stamp:
            return Response(status=304)
        return Response(GOOD_1, content_type="text/plain", headers={"Last-Modified": stamp})

    httpserver.expect_request("/page.md").respond_with_handler(handler)
    url = httpserver.url_for("/page.md")
    check(engine, url)
    assert check(engine, url).result == "not_modified"
    assert seen[1]["If-Modified-Since"] == stamp
    assert counts(engine)[:2] == (1, 0)


def test_user_agent_names_the_project(engine: Engine, httpserver: HTTPServer) -> None:
    seen: list[str] = []

    def handler(request: Request) -> Response:
        seen.append(request.headers.get("User-Agent", ""))
        return Response(GOOD_1, content_type="text/plain")

    httpserver.expect_request("/page.md").respond_with_handler(handler)
    check(engine, httpserver.url_for("/page.md"))
    assert seen[0].startswith("watcher/")


def test_same_host_redirect_is_followed(engine: Engine, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/old.md").respond_with_data(
        "", status=301, headers={"Location": "/page.md"}
    )
    httpserver.expect_request("/page.md").respond_with_data(GOOD_1, content_type="text/plain")
    outcome = check(engine, httpserver.url_for("/old.md"))
    assert outcome.result == "baseline"


def test_two_different_broken_fetches_do_not_confirm_each_other(
    engine: Engine, httpserver: HTTPServer
) -> None:
    """A page truncated at two different lengths is two quarantines, not a new format."""
    baseline = check(engine, serve_good(httpserver, GOOD_1), GOOD)
    assert check(engine, serve_good(httpserver, GOOD_2[:4000])).result == "quarantined"
    assert check(engine, serve_good(httpserver, GOOD_2[:4100])).result == "quarantined"
    assert current(engine) == baseline.snapshot_id
    assert counts(engine)[1] == 0
    assert_history_survives(engine, httpserver, counts(engine), baseline.snapshot_id or 0)
