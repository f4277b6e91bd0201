"""When a source is stale: the one rule the check and `watcher status` share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from watcher.domain.health import is_stale

NOW = datetime(2025, 1, 2, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


def test_stale_after_the_span_since_the_last_success() -> None:
    created = NOW - 10 * DAY
    assert not is_stale(NOW - DAY, created, DAY, NOW)  # exactly the span: not yet
    assert is_stale(NOW - DAY - timedelta(seconds=1), created, DAY, NOW)
    assert not is_stale(NOW - timedelta(hours=1), created, DAY, NOW)


def test_a_source_that_never_succeeded_counts_from_its_creation() -> None:
    assert not is_stale(None, NOW - timedelta(hours=23), DAY, NOW)
    assert is_stale(None, NOW - 2 * DAY, DAY, NOW)
