"""The one retry policy: the backoff schedule (exponential, capped, equal jitter, never
before a Retry-After) and Retry-After read as seconds or an HTTP date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.delivery.outbox import DispatchPolicy
from watcher.domain.retry import Backoff, retry_after
from watcher.ingest.fetch import FetchPolicy

NOW = datetime(2025, 5, 9, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("0", 0.0), ("1", 1.0), ("120", 120.0), (" 30 ", 30.0), ("2.5", 2.5), ("007", 7.0)],
)
def test_delta_seconds(value: str, seconds: float) -> None:
    assert retry_after(value, NOW) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "Fri, 09 May 2025 12:02:00 GMT",  # IMF-fixdate, the form servers must send
        "Friday, 09-May-25 12:02:00 GMT",  # RFC 850, obsolete but to be read
        "Fri May  9 12:02:00 2025",  # asctime, no zone: UTC
        "Fri, 09 May 2025 14:02:00 +0200",  # an offset is honoured
    ],
)
def test_http_dates_are_the_time_until_then(value: str) -> None:
    assert retry_after(value, NOW) == 120.0


def test_a_past_date_means_now() -> None:
    assert retry_after("Fri, 09 May 2025 11:00:00 GMT", NOW) == 0.0
    assert retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOW) == 0.0


def test_a_date_written_by_the_standard_library_reads_back() -> None:
    later = NOW + timedelta(seconds=45)
    assert retry_after(format_datetime(later, usegmt=True), NOW) == 45.0


@pytest.mark.parametrize(
    "value", [None, "", "   ", "soon", "-5", "1e3", "5 seconds", "+3", "0x10", "١٢", "Fri, 99 May"]
)
def test_garbage_is_no_retry_after(value: str | None) -> None:
    assert retry_after(value, NOW) is None


@given(st.text())
def test_any_header_value_reads_as_none_or_a_wait(value: str) -> None:
    wait = retry_after(value, NOW)
    assert wait is None or wait >= 0.0


def test_steps_double_from_the_base_up_to_the_cap() -> None:
    schedule = Backoff(base=1.0, cap=30.0)
    assert [schedule.step(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert schedule.step(0) == 1.0  # no failure yet is treated as the first
    assert schedule.step(10_000) == 30.0  # far past any doubling: the cap, no overflow


def test_equal_jitter_is_between_half_and_all_of_the_step() -> None:
    schedule = Backoff(base=4.0, cap=100.0)
    assert schedule.delay(1, None, 0.0) == 2.0
    assert schedule.delay(1, None, 0.5) == 3.0
    assert schedule.delay(3, None, 0.999) == pytest.approx(16.0, rel=1e-3)


@given(
    failures=st.integers(min_value=1, max_value=200),
    draw=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
def test_a_wait_never_exceeds_the_cap(failures: int, draw: float) -> None:
    schedule = Backoff(base=5.0, cap=1800.0)
    wait = schedule.delay(failures, None, draw)
    assert schedule.step(failures) / 2 <= wait <= 1800.0


def test_never_sooner_than_a_retry_after_believed_up_to_its_limit() -> None:
    schedule = Backoff(base=1.0, cap=30.0, max_retry_after=600.0)
    assert schedule.delay(1, 45.0, 0.0) == 45.0  # longer than the step: the server's wait
    assert schedule.delay(5, 0.0, 0.0) == 8.0  # shorter: the step still holds
    assert schedule.delay(1, 86_400.0, 0.0) == 600.0  # a day is not believed


def test_fetch_and_outbox_follow_the_one_policy() -> None:
    fetch = FetchPolicy(backoff=0.5, max_backoff=4.0)
    assert fetch.schedule == Backoff(0.5, 4.0)
    outbox = DispatchPolicy(backoff_base=5.0, backoff_cap=60.0, max_retry_after=120.0)
    for attempts, after, draw in ((1, None, 0.3), (4, None, 0.9), (9, None, 0.1), (2, 500.0, 0.5)):
        expected = Backoff(5.0, 60.0, 120.0).delay(attempts, after, draw)
        assert outbox.delay(attempts, after, lambda d=draw: d) == expected
