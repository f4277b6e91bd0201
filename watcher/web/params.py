"""Query parameters read as the command line reads its options: the change log's filters
(``source``, ``since``, ``until``, ``entity``, ``column``, ``kind``, ``severity``), dates,
snapshot ids and page cursors. A value the command line would refuse is refused here with
the command line's words (watcher.domain.known, watcher.domain.times), as a 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urlencode

from watcher.audit.changes import ChangeFilter
from watcher.domain import known
from watcher.domain.times import parse_when

FILTERS = ("source", "since", "until", "entity", "column", "kind", "severity")
MAX_LIMIT = 1000


class BadRequest(ValueError):
    """A query parameter the command line would refuse too: answered with a 400."""


def text(query: Mapping[str, str], name: str) -> str | None:
    value = query.get(name, "").strip()
    return value or None


def when(query: Mapping[str, str], name: str, *, end_of_day: bool = False) -> datetime | None:
    value = text(query, name)
    if value is None:
        return None
    try:
        return parse_when(value, end_of_day=end_of_day)
    except ValueError as exc:
        raise BadRequest(f"{name}: {exc}") from None


def integer(query: Mapping[str, str], name: str, *, default: int | None = None) -> int | None:
    value = text(query, name)
    if value is None:
        return default
    if not value.isdigit():
        raise BadRequest(f"{name}: {value!r} is not a whole number")
    return int(value)


def required_integer(query: Mapping[str, str], name: str) -> int:
    value = integer(query, name)
    if value is None:
        raise BadRequest(f"{name}: a snapshot id is needed")
    return value


def limit(query: Mapping[str, str], default: int) -> int:
    found = integer(query, "limit", default=default)
    assert found is not None
    if not 1 <= found <= MAX_LIMIT:
        raise BadRequest(f"limit: {found} is not between 1 and {MAX_LIMIT}")
    return found


def _known(query: Mapping[str, str], name: str, what: str, allowed: tuple[str, ...]) -> str | None:
    value = text(query, name)
    if value is not None and value not in allowed:
        raise BadRequest(f"{name}: {known.unknown_value(what, value, allowed)}")
    return value


def change_filter(query: Mapping[str, str]) -> ChangeFilter:
    """The filters of ``watcher changes``, from the query string."""
    return ChangeFilter(
        source=text(query, "source"),
        since=when(query, "since"),
        until=when(query, "until", end_of_day=True),
        entity=text(query, "entity"),
        column=_known(query, "column", "column key", known.columns()),
        kind=_known(query, "kind", "change kind", known.KINDS),
        severity=_known(query, "severity", "severity", known.SEVERITIES),
    )


def filter_query(
    query: Mapping[str, str], *, keep: tuple[str, ...] = FILTERS, **changes: str | int | None
) -> str:
    """The query string of the filters given (and ``changes`` made to them), for a link to
    the next page or to the same view in another form."""
    kept: dict[str, str | int] = {k: v for k in keep if (v := query.get(k, "").strip())}
    for k, change in changes.items():
        if change is None or change == "":
            kept.pop(k, None)
        else:
            kept[k] = change
    return urlencode(kept)
