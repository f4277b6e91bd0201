"""fetch's retries against a real local server: the one backoff, Retry-After as seconds or an
HTTP date, the deadline, and every try recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import EN_CHAIN
from watcher.ingest.fetch import FetchError, FetchPolicy, FetchResult, fetch, make_client

PAGE = EN_CHAIN[1].read_bytes()
QUICK = FetchPolicy(attempts=3, backoff=0.02, max_backoff=0.04, read_timeout=10, deadline=20)


def busy_then_page(
    times: list[float], status: int, retry_after: Callable[[], str | None], busy: int = 1
) -> Callable[[Request], Response]:
    """``busy`` answers of ``status`` with the Retry-After ``retry_after()`` gives, then the
    page; the time of each request in ``times``."""

    def handler(request: Request) -> Response:
        times.append(time.monotonic())
        if len(times) <= busy:
            value = retry_after()
            headers = {"Retry-After": value} if value is not None else {}
            return Response(b"busy", status=status, headers=headers)
        return Response(PAGE, content_type="text/plain")

    return handler


def run(
    httpserver: HTTPServer, policy: FetchPolicy = QUICK
) -> tuple[FetchResult | FetchError, list[float]]:
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with make_client(policy) as client:
        result = fetch(
            client, httpserver.url_for("/page.md"), "markdown", policy=policy, sleep=sleep
        )
    return result, waits


def http_date_in(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


def test_503_with_an_http_date_waits_until_then(httpserver: HTTPServer) -> None:
    times: list[float] = []
    handler = busy_then_page(times, 503, lambda: http_date_in(2.5))
    httpserver.expect_request("/page.md").respond_with_handler(handler)
    result, waits = run(httpserver)
    assert isinstance(result, FetchResult), result
    assert result.body == PAGE
    # An HTTP date has whole seconds: 2.5 seconds ahead is more than a second's wait.
    assert len(waits) == 1 and 1.0 <= waits[0] <= 2.5
    assert times[1] - times[0] >= 1.0
    first, second = result.attempts
    assert (first.status_code, first.error) == (
        503,
        f"HTTP 503 from {httpserver.host}:{httpserver.port}",
    )
    assert (second.status_code, second.error, second.bytes) == (200, None, len(PAGE))


def test_429_with_seconds_waits_that_long(httpserver: HTTPServer) -> None:
    times: list[float] = []
    httpserver.expect_request("/page.md").respond_with_handler(
        busy_then_page(times, 429, lambda: "1")
    )
    result, waits = run(httpserver)
    assert isinstance(result, FetchResult), result
    assert waits == [1.0]
    assert times[1] - times[0] >= 1.0


def test_a_past_date_or_garbage_falls_back_to_the_backoff(httpserver: HTTPServer) -> None:
    for value in (http_date_in(-3600), "in a while"):
        times: list[float] = []
        httpserver.clear()
        httpserver.expect_request("/page.md").respond_with_handler(
            busy_then_page(times, 503, lambda v=value: v)
        )
        result, waits = run(httpserver)
        assert isinstance(result, FetchResult), (value, result)
        assert len(waits) == 1 and 0.01 <= waits[0] <= 0.02, (value, waits)


def test_a_retry_after_beyond_the_deadline_is_not_waited_for(httpserver: HTTPServer) -> None:
    times: list[float] = []
    httpserver.expect_request("/page.md").respond_with_handler(
        busy_then_page(times, 429, lambda: "3600")
    )
    started = time.monotonic()
    result, waits = run(httpserver)
    assert isinstance(result, FetchError)
    assert result.message.endswith("(no time left to retry within 20s)"), result.message
    assert waits == [] and len(times) == 1
    assert time.monotonic() - started < 5
    assert [a.status_code for a in result.attempts] == [429]


def test_every_try_is_recorded_and_the_waits_follow_the_schedule(httpserver: HTTPServer) -> None:
    times: list[float] = []
    policy = FetchPolicy(attempts=4, backoff=0.02, max_backoff=0.04, read_timeout=10, deadline=20)
    httpserver.expect_request("/page.md").respond_with_handler(
        busy_then_page(times, 503, lambda: None, busy=10)
    )
    result, waits = run(httpserver, policy)
    assert isinstance(result, FetchError)
    assert result.message.endswith("(gave up after 4 attempts)"), result.message
    assert [(a.status_code, bool(a.error)) for a in result.attempts] == [(503, True)] * 4
    assert len(times) == 4
    # Equal jitter: half to all of 0.02, then of 0.04 (the cap) twice.
    steps = (0.02, 0.04, 0.04)
    assert len(waits) == 3
    assert all(step / 2 <= wait <= step for wait, step in zip(waits, steps, strict=True)), waits


def test_a_page_is_fetched_through_the_proxy_the_environment_names(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The local server stands in for the proxy: a client that ignored HTTP_PROXY would look
    # up page.invalid itself and fail (.invalid never resolves). conftest cleared the rest.
    monkeypatch.setenv("HTTP_PROXY", httpserver.url_for("/"))
    page = EN_CHAIN[0].read_bytes()
    seen: list[str] = []

    def proxy(request: Request) -> Response:
        seen.append(request.headers.get("Host", ""))
        return Response(page, 200, content_type="text/markdown")

    httpserver.expect_request("/page.md").respond_with_handler(proxy)
    with make_client() as client:
        result = fetch(client, "http://page.invalid/page.md", "markdown")
    assert isinstance(result, FetchResult), result
    assert result.body == page and seen == ["page.invalid"]
