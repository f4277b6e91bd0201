"""Quiet hours: a route's daily window (``"22:00-07:00 Europe/Berlin"``) in which its change
sets are held, and when the window around a moment ends.

Pure: the outbox asks, at dispatch time, which routes are quiet *now* and until when, so a
held change set lives in the outbox row alone and a restart changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s+(\S+)\s*$")


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    zone: ZoneInfo

    def until(self, at: datetime) -> datetime | None:
        """The end of the window ``at`` falls in (aware UTC), or None outside it."""
        local = at.astimezone(self.zone)
        now, day = local.time().replace(tzinfo=None), local.date()
        if self.start < self.end:
            inside = self.start <= now < self.end
        elif now >= self.start:  # a window over midnight, in its evening
            inside, day = True, day + timedelta(days=1)
        else:
            inside = now < self.end
        if not inside:
            return None
        # A DST gap shifts the end by its hour; in a repeated hour the later of its two
        # readings, so the end is never behind ``at`` (the second pass, fold=1).
        end = datetime.combine(day, self.end, tzinfo=self.zone)
        return max(end.astimezone(UTC), end.replace(fold=1).astimezone(UTC))


def _clock(hour: str, minute: str, text: str) -> time:
    h, m = int(hour), int(minute)
    if h > 23 or m > 59:
        raise ValueError(f"{text!r}: {hour}:{minute} is not a time of day")
    return time(h, m)


def parse_quiet_hours(text: str) -> QuietHours:
    """``"HH:MM-HH:MM Area/City"``; ValueError with one line saying what is wrong."""
    m = _WINDOW.match(text)
    if not m:
        raise ValueError(f'{text!r} is not a window like "22:00-07:00 Europe/Berlin"')
    start, end = _clock(m[1], m[2], text), _clock(m[3], m[4], text)
    if start == end:
        raise ValueError(f"{text!r}: the window starts and ends at the same time")
    try:
        zone = ZoneInfo(m[5])
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r}: {m[5]!r} is not a known time zone") from None
    return QuietHours(start, end, zone)


__all__ = ["QuietHours", "parse_quiet_hours"]
