"""Digests: a route's schedule (``"daily 09:00 Europe/Berlin"``, ``"weekly mon 09:00
Europe/Berlin"``), when it falls, and the folding of the change sets it gathers.

Pure. The outbox (``watcher.delivery.digest``) asks, at dispatch time, when the schedule
last fell (``last``) to gather the change sets held before it into one message, and when it
falls next (``next``) to know when to wake; nothing is kept in memory, so a restart changes
nothing.

Times follow the zone's clock: 09:00 is 09:00 local in winter and in summer. A time in the
spring gap (02:30 on the night clocks go forward) falls an hour later by the wall clock, at
the moment the skipped reading would have been; a time in autumn's repeated hour falls once,
at its first reading.

``fold`` turns a sequence of changes (several change sets, oldest first) into one entry per
cell, entity, row, column or section: a cell that went A → B → C reads "A → C (via B)", one
that went A → B → A "changed and changed back", an entity added and removed again says so.
The words are ``watcher.domain.describe``'s, with a ``note`` saying what the folding hid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from watcher.domain.describe import Line, describe
from watcher.domain.document import STATUS_RANK, Change, ChangeKind

FORMS = '"daily 09:00 Europe/Berlin" or "weekly mon 09:00 Europe/Berlin"'
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SCHEDULE = re.compile(
    r"^\s*(daily|weekly)\s+(?:([a-z]+)\s+)?(\d{1,2}):(\d\d)\s+(\S+)\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class Schedule:
    """When a route's digest goes: every day, or on one weekday (0 Monday), at ``at`` local."""

    at: time
    zone: ZoneInfo
    weekday: int | None = None  # None: daily

    def _on(self, day: date) -> datetime:
        # fold=0: the first reading of a repeated time; a time in the gap converts with the
        # offset before it, i.e. the skipped reading's moment (an hour later by the clock).
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)

    def _days(self, around: datetime, step: int) -> Iterable[date]:
        day = around.astimezone(self.zone).date() - timedelta(days=step)
        for _ in range(16):
            if self.weekday is None or day.weekday() == self.weekday:
                yield day
            day += timedelta(days=step)

    def next(self, after: datetime) -> datetime:
        """The first time the digest falls strictly after ``after`` (aware UTC)."""
        return next(t for t in map(self._on, self._days(after, 1)) if t > after)

    def last(self, at: datetime) -> datetime:
        """The last time the digest fell at or before ``at`` (aware UTC)."""
        return next(t for t in map(self._on, self._days(at, -1)) if t <= at)

    def previous(self, occurrence: datetime) -> datetime:
        """The time the digest fell before ``occurrence``: where its period starts."""
        return self.last(occurrence - timedelta(seconds=1))


def parse_schedule(text: str) -> Schedule:
    """``"daily HH:MM Area/City"`` or ``"weekly DAY HH:MM Area/City"``; ValueError with one
    line saying what is wrong and the forms that work."""
    m = _SCHEDULE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a schedule like {FORMS}")
    every, day, hour, minute, zone_name = m.groups()
    weekday: int | None = None
    if every.lower() == "weekly":
        if day is None:
            raise ValueError(f"{text!r}: a weekly digest names its day, like {FORMS}")
        name = day.lower()
        if name in WEEKDAYS:
            weekday = WEEKDAYS.index(name)
        elif name in _DAY_NAMES:
            weekday = _DAY_NAMES.index(name)
        else:
            raise ValueError(f"{text!r}: {day!r} is not a day (mon, tue, wed, thu, fri, sat, sun)")
    elif day is not None:
        raise ValueError(f"{text!r}: a daily digest names no day, like {FORMS}")
    h, mi = int(hour), int(minute)
    if h > 23 or mi > 59:
        raise ValueError(f"{text!r}: {hour}:{minute} is not a time of day")
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r}: {zone_name!r} is not a known time zone") from None
    return Schedule(time(h, mi), zone, weekday)


# --- folding -----------------------------------------------------------------------------

Folding = Literal["once", "net", "back", "gone_again", "back_again", "again"]

# Kinds that say a thing is there or not, by the level they concern.
_PRESENCE = {
    "entity_added": ("entity", True),
    "entity_removed": ("entity", False),
    "attribute_added": ("attribute", True),
    "attribute_removed": ("attribute", False),
    "section_added": ("section", True),
    "section_removed": ("section", False),
}
_CELL = ("status_changed", "value_changed")


@dataclass(frozen=True)
class Folded:
    """One thing the digest reports: its changes in order (``steps``), what they come to
    (``change``: the first one's old side and the last one's new side) and how."""

    change: Change
    steps: tuple[Change, ...]
    how: Folding

    @property
    def line(self) -> Line:
        """The folded change in ``describe``'s words, with a ``note`` on what was folded."""
        return folded_line(self)


def _key(c: Change) -> tuple[str, ...]:
    """What a change is about: one cell's value, one cell's links, one thing's presence;
    anything else is its own (renames, moves, format changes are each told)."""
    if c.kind in _CELL:
        return ("cell", c.section_key, c.entity_key, c.row, c.column)
    if c.kind == "link_changed":
        return ("link", c.section_key, c.entity_key, c.row, c.column)
    if c.kind in _PRESENCE:
        level = _PRESENCE[c.kind][0]
        return ("presence", level, c.section_key, c.entity_key, c.row, c.column)
    return ("once", c.kind, c.section_key, c.entity_key, c.old_entity or "", c.new_raw or "")


def fold(changes: Iterable[Change]) -> list[Folded]:
    """The changes of several change sets (oldest first) folded per thing they are about, in
    the order things were first changed."""
    order: list[tuple[str, ...]] = []
    steps: dict[tuple[str, ...], list[Change]] = {}
    once = 0
    for c in changes:
        key = _key(c)
        if key[0] == "once":
            key, once = (*key, str(once)), once + 1
        if key not in steps:
            order.append(key)
            steps[key] = []
        steps[key].append(c)
    return [_fold(key[0], tuple(steps[key])) for key in order]


def _fold(family: str, steps: tuple[Change, ...]) -> Folded:
    first, last = steps[0], steps[-1]
    if len(steps) == 1:
        return Folded(first, steps, "once")
    # What ends where it began (added and removed again, a link changed back) is "info":
    # nothing to act on, whatever its last step's severity was.
    if family == "presence":
        how = _presence(steps)
        return Folded(replace(last, severity="info") if how == "gone_again" else last, steps, how)
    if family == "link":
        back = first.old_links == last.new_links
        net = replace(last, old_links=first.old_links, severity="info" if back else last.severity)
        return Folded(net, steps, "back" if back else "net")
    back = (first.old_raw, first.old_status) == (last.new_raw, last.new_status)
    # Changed back, it stays the kind it was; else a status change when the status moved.
    kind = first.kind if back else _cell_kind(first, last)
    old, new = STATUS_RANK.get(first.old_status or ""), STATUS_RANK.get(last.new_status or "")
    severity = last.severity
    if back:  # it ended where it began: neither a promotion nor a regression to act on
        severity = "info"
    elif kind == "status_changed" and old is not None and new is not None and new != old:
        severity = "notice" if new > old else "warning"
    net = replace(
        last,
        kind=kind,
        severity=severity,
        old_raw=first.old_raw,
        old_status=first.old_status,
        old_links=first.old_links,
    )
    return Folded(net, steps, "back" if back else "net")


def _cell_kind(first: Change, last: Change) -> ChangeKind:
    return "status_changed" if first.old_status != last.new_status else "value_changed"


def _presence(steps: Sequence[Change]) -> Folding:
    added_first = _PRESENCE[steps[0].kind][1]
    added_last = _PRESENCE[steps[-1].kind][1]
    if len(steps) == 2 and added_first != added_last:
        return "gone_again" if added_first else "back_again"
    return "again"


def _words(c: Change) -> str:
    """The value a cell change left: its new side in ``describe``'s words."""
    return describe(c).new or ""


def folded_line(f: Folded) -> Line:
    line = describe(f.change)
    if f.how == "once":
        return line
    n = len(f.steps)
    if f.how in ("gone_again", "back_again"):
        note = "added and removed again" if f.how == "gone_again" else "removed and added back"
        # The cells are those it had (removed again) or has now (added back).
        shown = describe(f.steps[0]) if f.how == "gone_again" else line
        return replace(shown, mark="changed", text=note, headline=True, note=note)
    if f.how == "again":
        now = "on the page now" if _PRESENCE[f.change.kind][1] else "gone now"
        note = f"added or removed {n} times, {now}"
        return replace(line, text=f"{line.text} ({note})", headline=True, note=note)
    if f.how == "back":
        between = " → ".join(_words(c) for c in f.steps[:-1])
        note = f"changed and changed back, via {between}"
        # Neither a promotion nor a regression: where it ended is where it started.
        return replace(line, mark="changed", text=f"{line.text} ({note})", note=note)
    via = ", ".join(_words(c) for c in f.steps[:-1])
    note = f"via {via}"
    return replace(line, text=f"{line.text} ({note})", note=note)


__all__ = ["FORMS", "Folded", "Schedule", "fold", "folded_line", "parse_schedule"]
