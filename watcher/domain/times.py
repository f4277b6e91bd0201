"""Time in one convention: aware UTC inside, ISO 8601 with a ``Z`` outside.

``utcnow`` is the one reading of the wall clock the stores, checks and the outbox share;
``iso`` is how every command, export and message writes a moment; ``parse_when`` reads the
dates a user gives (``--since``, ``--until``, ``--at``) and a page's ``ms.date``. Apart from
``utcnow``, pure.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """``2021-06-01T12:00:00Z`` (microseconds kept when there are any); None stays None."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the database gives UTC already; listings call this a lot
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"


def iso_stored(value: datetime | None) -> str | None:
    """``iso`` of a time read as the database stores it, naive UTC (a query skipping the
    conversion to aware times, which costs more than the read on long answers)."""
    return None if value is None else value.isoformat() + "Z"


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or datetime, UTC unless it carries an offset.

    A bare date means the start of that day, or with ``end_of_day`` the start of the next,
    so ``--until 2021-06-01`` includes all of 1 June.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(0), tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or datetime") from None
    except OverflowError:  # the day after 9999-12-31
        raise ValueError(f"{text!r} is past the last date there is") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
