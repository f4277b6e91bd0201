"""The values a route in the config or a filter on the command line may name.

Change kinds and severities come from the Literal types in watcher.domain.document; row and column
keys from watcher.domain.keys, the tables the parser reads labels by, so that a key the parser
learns is known here at once.
A name outside these lists would match nothing, silently: it is refused with the list and,
when one is close, a did-you-mean.
"""

from __future__ import annotations

from collections.abc import Iterable
from difflib import get_close_matches
from typing import get_args

from watcher.domain.document import ChangeKind, Severity
from watcher.domain.keys import CLOUDS, PAGE_COLUMNS, ROWS, TABLE_COLUMNS

# The name of a source or a route, in the config and on the command line alike.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"

KINDS: tuple[str, ...] = get_args(ChangeKind)
SEVERITIES: tuple[str, ...] = get_args(Severity)


def _values(table: dict[str, str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(table.values()))


def columns() -> tuple[str, ...]:
    """Clouds (the matrix tables' columns), the named table columns (resource_id, status,
    identity_types) and the columns that keep their header's normal form (PAGE_COLUMNS)."""
    return tuple(dict.fromkeys((*_values(CLOUDS), *_values(TABLE_COLUMNS), *PAGE_COLUMNS)))


def rows() -> tuple[str, ...]:
    """Identity types (the matrix tables' rows) and clouds (the rows of its Cloud tables)."""
    return tuple(dict.fromkeys((*_values(ROWS), *_values(CLOUDS))))


def closest(value: str, known: Iterable[str]) -> str | None:
    """The known name closest to ``value``, or None when none is close."""
    close = get_close_matches(value, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def suggestion(value: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known name, or nothing when none is close."""
    close = closest(value, known)
    return f"; did you mean {close!r}?" if close is not None else ""


def unknown_value(what: str, value: str, known: Iterable[str]) -> str:
    """The one-line complaint about a name that is not among ``known``."""
    names = list(known)
    return f"{value!r} is not a known {what}{suggestion(value, names)} (known: {', '.join(names)})"
