"""Digest schedules (parsing; when one falls next and last, in its zone, across both DST
changes) and the folding of several change sets into one entry per cell or entity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from watcher.domain.digest import fold, parse_schedule
from watcher.domain.document import Change, Record

DAILY = parse_schedule("daily 09:00 Europe/Berlin")
WEEKLY = parse_schedule("weekly mon 09:00 Europe/Berlin")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "next_", "last"),
    [
        # Winter, CET (UTC+1): 09:00 Berlin is 08:00 UTC.
        (utc(2026, 1, 10, 7, 0), utc(2026, 1, 10, 8, 0), utc(2026, 1, 9, 8, 0)),
        # At the very time: it fell now, and falls next tomorrow.
        (utc(2026, 1, 10, 8, 0), utc(2026, 1, 11, 8, 0), utc(2026, 1, 10, 8, 0)),
        # Summer, CEST (UTC+2).
        (utc(2026, 7, 1, 12, 0), utc(2026, 7, 2, 7, 0), utc(2026, 7, 1, 7, 0)),
        # Across the spring change (29 March 2026): 08:00 UTC the day before, 07:00 UTC after.
        (utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 7, 0), utc(2026, 3, 28, 8, 0)),
        # Across the autumn change (25 October 2026).
        (utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 8, 0), utc(2026, 10, 24, 7, 0)),
    ],
)
def test_a_daily_digest_falls_at_its_local_time(
    at: datetime, next_: datetime, last: datetime
) -> None:
    assert DAILY.next(at) == next_
    assert DAILY.last(at) == last


def test_a_weekly_digest_falls_on_its_day_across_dst() -> None:
    # Monday 23 March 2026 09:00 CET; the next Monday is after the spring change: CEST.
    assert WEEKLY.next(utc(2026, 3, 21, 12, 0)) == utc(2026, 3, 23, 8, 0)
    assert WEEKLY.next(utc(2026, 3, 23, 8, 0)) == utc(2026, 3, 30, 7, 0)
    assert WEEKLY.last(utc(2026, 3, 29, 23, 0)) == utc(2026, 3, 23, 8, 0)
    assert WEEKLY.previous(utc(2026, 3, 30, 7, 0)) == utc(2026, 3, 23, 8, 0)
    # A week across the autumn change is 169 hours long.
    assert WEEKLY.next(utc(2026, 10, 19, 7, 0)) == utc(2026, 10, 26, 8, 0)


def test_a_time_in_the_spring_gap_falls_once_an_hour_later() -> None:
    night = parse_schedule("daily 02:30 Europe/Berlin")
    # 02:30 does not exist on 29 March 2026; it falls at 03:30 CEST (01:30 UTC), once.
    assert night.next(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 30)
    assert night.next(utc(2026, 3, 29, 1, 30)) == utc(2026, 3, 30, 0, 30)


def test_a_time_in_the_repeated_autumn_hour_falls_once() -> None:
    night = parse_schedule("daily 02:30 Europe/Berlin")
    # 02:30 comes twice on 25 October 2026 (00:30 and 01:30 UTC): the digest goes at the first.
    assert night.next(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 30)
    assert night.next(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 26, 1, 30)
    assert night.last(utc(2026, 10, 25, 1, 45)) == utc(2026, 10, 25, 0, 30)


def test_day_names_and_case() -> None:
    assert parse_schedule("Weekly Friday 17:30 UTC").weekday == 4
    assert parse_schedule("DAILY 7:05 America/New_York").at.minute == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("every day at 9", 'is not a schedule like "daily 09:00 Europe/Berlin" or "weekly mon'),
        ("weekly 09:00 UTC", "a weekly digest names its day"),
        ("daily mon 09:00 UTC", "a daily digest names no day"),
        ("weekly mo 09:00 UTC", "'mo' is not a day (mon, tue, wed, thu, fri, sat, sun)"),
        ("daily 25:00 UTC", "25:00 is not a time of day"),
        ("daily 09:00 Europe/Atlantis", "'Europe/Atlantis' is not a known time zone"),
    ],
)
def test_a_bad_schedule_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + repr(text).replace("(", r"\(")) as caught:
        parse_schedule(text)
    assert message in str(caught.value)


# --- folding -----------------------------------------------------------------------------


def status(old: str, new: str, entity: str = "Azure Maps", **fields: Any) -> Change:
    labels = {"available": "Available", "preview": "Preview", "not_available": "Not available"}
    base: dict[str, Any] = {
        "kind": "status_changed",
        "severity": "notice",
        "section": "Services",
        "entity": entity,
        "row": "user_assigned",
        "column": "usgov",
        "row_label": "User assigned",
        "column_label": "Azure Government",
        "old_raw": labels[old],
        "new_raw": labels[new],
        "old_status": old,
        "new_status": new,
        "section_key": "services",
        "entity_key": entity.lower().replace(" ", ""),
    }
    return Change(**{**base, **fields})


def entity(kind: str, name: str = "Azure Batch") -> Change:
    cell = Record(
        section="Services",
        entity=name,
        row="System assigned",
        column="Azure Government",
        raw="Available",
        status="available",
        section_key="services",
        entity_key=name.lower().replace(" ", ""),
        row_key="systemassigned",
        column_key="usgov",
    )
    return Change(
        kind=kind,  # type: ignore[arg-type]
        severity="notice",
        section="Services",
        entity=name,
        section_key="services",
        entity_key=cell.entity_key,
        cells=(cell,),
    )


def test_a_cell_that_changed_twice_reads_from_first_to_last_via_the_middle() -> None:
    [f] = fold([status("not_available", "preview"), status("preview", "available")])
    line = f.line
    assert line.mark == "promotion"
    assert line.text == "User assigned · Azure Government: Not available → Available (via Preview)"
    assert (line.old, line.new, line.note) == ("Not available", "Available", "via Preview")


def test_a_cell_that_changed_back_says_so_and_is_neither_promotion_nor_regression() -> None:
    [f] = fold([status("available", "preview"), status("preview", "available")])
    assert f.how == "back"
    assert f.line.mark == "changed"
    assert f.line.text == (
        "User assigned · Azure Government: Available → Available "
        "(changed and changed back, via Preview)"
    )
    # A receiver filtering the webhook's folded lines on severity is not alerted to it.
    assert f.change.severity == "info"


def test_a_net_regression_is_a_regression() -> None:
    [f] = fold([status("available", "preview"), status("preview", "not_available")])
    assert f.change.severity == "warning" and f.line.mark == "regression"


def test_an_entity_added_and_removed_again() -> None:
    folded = fold(
        [entity("entity_added"), status("not_available", "available"), entity("entity_removed")]
    )
    assert [f.how for f in folded] == ["gone_again", "once"]
    line = folded[0].line
    assert line.text == "added and removed again" and line.headline
    assert folded[0].change.severity == "info"  # it came to nothing: no regression to act on
    assert line.details[0].cells[0].value == "Available"  # the cells it had meanwhile
    again = fold([entity("entity_removed"), entity("entity_added")])[0].line
    assert again.text == "removed and added back"


def test_each_thing_once_in_the_order_first_changed_and_other_cells_apart() -> None:
    changes = [
        status("not_available", "preview", "Azure Maps"),
        status("not_available", "available", "Azure Batch"),
        status("preview", "available", "Azure Maps"),
        status("preview", "available", "Azure Maps", column="global", column_label="Global"),
    ]
    folded = fold(changes)
    assert [(f.change.entity, f.change.column, len(f.steps)) for f in folded] == [
        ("Azure Maps", "usgov", 2),
        ("Azure Batch", "usgov", 1),
        ("Azure Maps", "global", 1),
    ]
    assert folded[1].line.note == "" and folded[1].how == "once"
