"""Which stored sources and entities a query names.

A ``--source`` is checked against the stored sources (a typo is an error naming them, not
an empty answer); an entity is named by a glob on its display name or by its normal form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import ColumnElement, bindparam, select, tuple_
from sqlalchemy.orm import Session

from watcher.parse.vocabulary import normalize
from watcher.storage.models import Source


class UnknownSource(LookupError):
    """A --source that names no stored source."""


class UnknownCursor(LookupError):
    """A page cursor (the id of the last row of the page before) that names no stored row."""


def keyset(columns: Sequence[Any], mark: Sequence[Any]) -> ColumnElement[Any]:
    """``mark`` (a cursor's place: its values of ``columns``) as a row value to compare
    ``tuple_(*columns)`` with, each value bound as its column's type. Bound by their Python
    types instead, the cursor's aware times reach PostgreSQL as timestamptz, which it
    compares with the stored naive UTC in the session's time zone: off by the zone's offset
    (a page after the cursor lost its first hours) wherever that is not UTC."""
    return tuple_(*(bindparam(None, v, type_=c.type) for c, v in zip(columns, mark, strict=True)))


def sources(session: Session, name: str | None) -> list[tuple[int, str]]:
    """(id, name) of the stored source ``name``, or of every stored source when None, by
    name. Raises UnknownSource for a name that is none of them."""
    q = select(Source.id, Source.name).order_by(Source.name)
    if name:
        q = q.where(Source.name == name)
    found = [(int(i), str(n)) for i, n in session.connection().execute(q)]
    if name and not found:
        stored = list(session.scalars(select(Source.name).order_by(Source.name)))
        known = f"known: {', '.join(stored)}" if stored else "no source is stored yet"
        raise UnknownSource(f"no source named {name!r} ({known})")
    return found


def require_source(session: Session, name: str | None) -> None:
    """Raise UnknownSource, naming the stored sources, when ``name`` is none of them: a
    --source with a typo is an error, not an empty answer."""
    if name:
        sources(session, name)


def is_glob(pattern: str) -> bool:
    """Whether an entity pattern is a glob (``Azure *``) rather than a name."""
    return any(ch in pattern for ch in "*?[")


def entity_matcher(pattern: str) -> Callable[[str, str], bool]:
    """A test on (display name, entity key): a glob on the display name, case-insensitive,
    or else the same normal form ("azure functions" finds "Azure Functions")."""
    if is_glob(pattern):
        folded = pattern.casefold()
        return lambda name, key: fnmatchcase(name.casefold(), folded)
    wanted = normalize(pattern)
    return lambda name, key: key == wanted
