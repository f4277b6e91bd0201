"""The Slack channel reads a rate limit's Retry-After with the one parser: seconds or an
HTTP date, from a real local server standing in for the webhook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer

from watcher.delivery.channels.slack import SlackWebhook

PART = {"text": "a change"}


def later(seconds: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [("30", 30.0, 30.0), ("in 120 s", 110.0, 120.0), ("60 s ago", 0.0, 0.0)],
)
def test_a_rate_limit_says_when_to_retry(
    httpserver: HTTPServer, header: str, low: float, high: float
) -> None:
    # HTTP dates are made when the test runs, not when it is collected.
    header = {"in 120 s": later(120), "60 s ago": later(-60)}.get(header, header)
    httpserver.expect_request("/hook").respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": header}
    )
    result = SlackWebhook(httpserver.url_for("/hook"), timeout=5).post(PART)
    assert result.outcome == "retry"
    assert result.retry_after is not None and low <= result.retry_after <= high


def test_garbage_or_no_retry_after_leaves_the_wait_to_the_backoff(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "whenever"}
    )
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=503)
    hook = SlackWebhook(httpserver.url_for("/hook"), timeout=5)
    for _ in range(2):
        result = hook.post(PART)
        assert (result.outcome, result.retry_after) == ("retry", None)
