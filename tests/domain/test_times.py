"""The one convention for time: aware UTC inside, ISO 8601 with a Z outside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from watcher.domain.times import iso, parse_when, utcnow


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_iso_writes_utc_with_a_z() -> None:
    assert iso(datetime(2021, 6, 1, 12, 30, tzinfo=UTC)) == "2021-06-01T12:30:00Z"
    assert iso(datetime(2021, 6, 1, 12, 30, 0, 250, tzinfo=UTC)) == "2021-06-01T12:30:00.000250Z"
    # Another offset is converted, not relabelled.
    paris = timezone(timedelta(hours=2))
    assert iso(datetime(2021, 6, 1, 14, 30, tzinfo=paris)) == "2021-06-01T12:30:00Z"
    assert iso(None) is None


def test_parse_when_reads_dates_and_datetimes_as_utc() -> None:
    assert parse_when("2021-06-01") == datetime(2021, 6, 1, tzinfo=UTC)
    assert parse_when(" 2021-06-01 ", end_of_day=True) == datetime(2021, 6, 2, tzinfo=UTC)
    assert parse_when("2021-06-01T08:00:00Z") == datetime(2021, 6, 1, 8, tzinfo=UTC)
    assert parse_when("2021-06-01T08:00") == datetime(2021, 6, 1, 8, tzinfo=UTC)
    assert parse_when("2021-06-01T10:00:00+02:00") == datetime(2021, 6, 1, 8, tzinfo=UTC)
    assert parse_when("2021-06-01T10:00:00+02:00").tzinfo is UTC
    # end_of_day only moves a bare date: a moment is the moment.
    assert parse_when("2021-06-01T08:00Z", end_of_day=True) == datetime(2021, 6, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "2021-13-01", "01/06/2021", "2021-06-01T25:00"])
def test_parse_when_refuses_what_is_not_iso_8601(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 date or datetime"):
        parse_when(text)


def test_iso_and_parse_when_round_trip() -> None:
    moment = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)
    written = iso(moment)
    assert written is not None
    assert parse_when(written) == moment


def test_the_day_after_the_last_date_is_refused_not_a_crash() -> None:
    with pytest.raises(ValueError, match="past the last date"):
        parse_when("9999-12-31", end_of_day=True)
    assert parse_when("9999-12-31").year == 9999
