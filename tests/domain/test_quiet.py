"""Quiet-hours windows: parsing, and when the window around a moment ends (over midnight,
across a DST change), in the route's own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watcher.domain.quiet import parse_quiet_hours

BERLIN = parse_quiet_hours("22:00-07:00 Europe/Berlin")


@pytest.mark.parametrize(
    ("at", "until"),
    [
        # 23:30 Berlin (CET, UTC+1) is inside: until 07:00 Berlin next day = 06:00 UTC.
        (datetime(2026, 1, 10, 22, 30, tzinfo=UTC), datetime(2026, 1, 11, 6, 0, tzinfo=UTC)),
        # 05:00 Berlin: inside, until 07:00 Berlin the same day.
        (datetime(2026, 1, 11, 4, 0, tzinfo=UTC), datetime(2026, 1, 11, 6, 0, tzinfo=UTC)),
        # 07:00 Berlin sharp is over; 12:00 and 21:59 are outside.
        (datetime(2026, 1, 11, 6, 0, tzinfo=UTC), None),
        (datetime(2026, 1, 11, 11, 0, tzinfo=UTC), None),
        (datetime(2026, 1, 11, 20, 59, tzinfo=UTC), None),
        # Summer (CEST, UTC+2): 22:00 Berlin is 20:00 UTC.
        (datetime(2026, 7, 1, 20, 0, tzinfo=UTC), datetime(2026, 7, 2, 5, 0, tzinfo=UTC)),
        # The night clocks go forward (29 March 2026): 07:00 CEST is 05:00 UTC.
        (datetime(2026, 3, 28, 23, 0, tzinfo=UTC), datetime(2026, 3, 29, 5, 0, tzinfo=UTC)),
    ],
)
def test_the_window_ends_at_its_local_end(at: datetime, until: datetime | None) -> None:
    assert BERLIN.until(at) == until


def test_a_window_within_one_day() -> None:
    lunch = parse_quiet_hours("12:00-13:30 UTC")
    assert lunch.until(datetime(2026, 1, 1, 12, 15, tzinfo=UTC)) == datetime(
        2026, 1, 1, 13, 30, tzinfo=UTC
    )
    assert lunch.until(datetime(2026, 1, 1, 13, 30, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("22:00-07:00", 'is not a window like "22:00-07:00 Europe/Berlin"'),
        ("10pm-7am Europe/Berlin", "is not a window like"),
        ("25:00-07:00 Europe/Berlin", "25:00 is not a time of day"),
        ("22:00-22:00 Europe/Berlin", "starts and ends at the same time"),
        ("22:00-07:00 Europe/Atlantis", "'Europe/Atlantis' is not a known time zone"),
        ("22:00-07:00 ../../etc/passwd", "is not a known time zone"),
    ],
)
def test_a_bad_window_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_quiet_hours(text)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_the_repeated_hour_of_autumn_ends_the_window_in_the_future() -> None:
    # 25 Oct 2026, Berlin: 03:00 CEST goes back to 02:00 CET. At 02:10 CET (01:10 UTC, the
    # second pass) the window ends at 02:30 CET, not at 02:30 CEST (00:30 UTC, already past:
    # dispatch's linger loop slept 0 s and spun on it).
    night = parse_quiet_hours("22:00-02:30 Europe/Berlin")
    at = datetime(2026, 10, 25, 1, 10, tzinfo=UTC)
    assert night.until(at) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
