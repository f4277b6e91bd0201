"""The change log: every stored change, filtered as ``watcher changes`` asks, as flat rows.

Rows are plain dicts whose keys are the command-line contract's JSON fields (DESIGN.md), so
table, JSON and CSV output share one shape, named in watcher.storage.changelog (the webhook
channel sends the same rows). ``change_body`` is the part a stored change and a freshly
computed one (``watcher diff A B``) share. The export with provenance is
watcher.audit.export.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, text, tuple_
from sqlalchemy.orm import QueryableAttribute, Session

from watcher.audit.sources import UnknownCursor, keyset, require_source
from watcher.domain.describe import describe
from watcher.domain.document import SEVERITY_RANK, Change

# Re-exported: the command line and the other audit modules name them from here.
from watcher.storage.changelog import CHANGE_ARRAYS as CHANGE_ARRAYS
from watcher.storage.changelog import CHANGE_BODY as CHANGE_BODY
from watcher.storage.changelog import CHANGE_COLUMNS, change_row_of, change_values_of
from watcher.storage.changelog import CHANGE_FIELDS as CHANGE_FIELDS
from watcher.storage.changelog import change_body as change_body
from watcher.storage.changelog import change_row as change_row
from watcher.storage.models import ChangeRow, Source

# Change kinds by what they do to a cell: give it a new value, or carry it to a new name
# (watcher.audit.state and watcher.audit.timeline follow cells through them).
CELL_KINDS = ("status_changed", "value_changed")
IDENTITY_KINDS = ("entity_renamed", "entity_moved")


@dataclass(frozen=True)
class ChangeFilter:
    """What ``--source``, ``--since``, ``--until``, ``--entity``, ``--column``, ``--kind``
    and ``--severity`` keep of the change log; None keeps everything."""

    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    entity: str | None = None
    column: str | None = None
    kind: str | None = None
    severity: str | None = None  # the minimum severity shown


_CHANGE_ORDER = (ChangeRow.detected_at, ChangeRow.to_snapshot_id, ChangeRow.position)
# More entity names than this matched by one glob are matched in Python, row by row, rather
# than sent as an IN list (SQLite before 3.32 takes 999 parameters at most).
_MAX_NAMES = 900
_BATCH = 1000  # rows fetched at a time while streaming: memory stays flat however many


def _conditions(f: ChangeFilter) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if f.source:
        found.append(Source.name == f.source)
    if f.since:
        found.append(ChangeRow.detected_at >= f.since)
    if f.until:
        found.append(ChangeRow.detected_at < f.until)
    if f.column:
        found.append(ChangeRow.column == f.column)
    if f.kind:
        found.append(ChangeRow.kind == f.kind)
    if f.severity:
        allowed = [s for s, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[f.severity]]
        found.append(ChangeRow.severity.in_(allowed))
    return found


def _name_wanted(pattern: str, name: str | None) -> bool:
    """The --entity test: a glob (fnmatch's), case-insensitive, on a display name."""
    return bool(name) and fnmatchcase(name.casefold(), pattern.casefold())  # type: ignore[union-attr]


def entity_glob(pattern: str) -> Callable[[str, str], bool]:
    """The --entity test as a test on (display name, entity key), for the names an entity
    ever had (watcher.audit.history.unknown_entity)."""
    return lambda name, _key: _name_wanted(pattern, name)


def _entity_wanted(f: ChangeFilter, entity: str, old_entity: str | None) -> bool:
    if f.entity is None:
        return True
    return _name_wanted(f.entity, entity) or _name_wanted(f.entity, old_entity)


# Every distinct value of a column, one index seek each (a "loose index scan"): far fewer
# than the changes, so the glob is matched in Python on names, and the query then asks for
# exactly those names along the (entity, ...) and (old_entity) indexes.
_DISTINCT = """
WITH RECURSIVE found(name) AS (
    SELECT (SELECT {c} FROM changes WHERE {c} IS NOT NULL ORDER BY {c} LIMIT 1)
    UNION ALL
    SELECT (SELECT {c} FROM changes WHERE {c} > found.name ORDER BY {c} LIMIT 1)
    FROM found WHERE found.name IS NOT NULL
)
SELECT name FROM found WHERE name IS NOT NULL
"""


def _entity_condition(session: Session, f: ChangeFilter) -> ColumnElement[bool] | None:
    """The SQL condition keeping exactly the changes whose entity or old entity the
    --entity glob matches; None when there is no glob, or when it matches too many names to
    list (the rows are then matched in Python)."""
    if f.entity is None:
        return None
    names: set[str] = set()
    for column in ("entity", "old_entity"):
        found = session.connection().execute(text(_DISTINCT.format(c=column))).scalars()
        names.update(n for n in found if _name_wanted(f.entity, n))
    if len(names) > _MAX_NAMES:
        return None
    if not names:
        return false()
    wanted = sorted(names)
    return or_(ChangeRow.entity.in_(wanted), ChangeRow.old_entity.in_(wanted))


def _cursor(session: Session, after: int | None) -> tuple[Any, ...] | None:
    """The place in the log's order of the change ``after`` (a page's cursor)."""
    if after is None:
        return None
    found = (
        session.connection().execute(select(*_CHANGE_ORDER).where(ChangeRow.id == after)).first()
    )
    if found is None:
        raise UnknownCursor(f"no change {after} to page on from")
    return tuple(found)


def _after(mark: tuple[Any, ...], newest_first: bool) -> ColumnElement[bool]:
    """The changes past ``mark`` in the log's order (newest first: by check, newest first;
    within one check, the page's order still)."""
    when, snap, position = _CHANGE_ORDER
    if newest_first:
        same_check = and_(when == mark[0], snap == mark[1], position > mark[2])
        return or_(tuple_(when, snap) < keyset((when, snap), mark[:2]), same_check)
    return tuple_(*_CHANGE_ORDER) > keyset(_CHANGE_ORDER, mark)


def _selected(
    session: Session,
    f: ChangeFilter,
    columns: Sequence[Any],
    *,
    after: int | None = None,
    limit: int | None = None,
    newest_first: bool = False,
    names: Callable[[Any], tuple[str, str | None]] = lambda r: (r.entity, r.old_entity),
    orm: bool = False,
) -> Iterator[Any]:
    """The rows of ``columns`` of the changes ``f`` keeps, in the log's order, streamed;
    ``names`` reads a row's entity and old entity. Every check is made before the first
    row: UnknownSource for a --source not stored, UnknownCursor for an ``after`` that names
    no change."""
    require_source(session, f.source)
    mark = _cursor(session, after)
    when, snap, position = _CHANGE_ORDER
    order = [when.desc(), snap.desc(), position] if newest_first else list(_CHANGE_ORDER)
    q = (
        select(*columns)
        .join(Source, Source.id == ChangeRow.source_id)
        .where(*_conditions(f))
        .order_by(*order)
    )
    if mark is not None:
        q = q.where(_after(mark, newest_first))
    entity = _entity_condition(session, f)
    exact = f.entity is None or entity is not None
    if entity is not None:
        q = q.where(entity)
    if exact and limit is not None:
        q = q.limit(limit)
    options = {"yield_per": _BATCH}
    # Plain columns go through Core, skipping the ORM's per-row loading (most of the time a
    # long listing takes otherwise); whole ChangeRow objects need the session.
    run = session.execute if orm else session.connection().execute
    rows: Iterator[Any] = iter(run(q, execution_options=options))
    if not exact:
        rows = (r for r in rows if _entity_wanted(f, *names(r)))
        if limit is not None:
            rows = islice(rows, limit)
    return rows


def filtered_changes(
    session: Session, f: ChangeFilter, *also: QueryableAttribute[Any]
) -> list[tuple[Any, ...]]:
    """The changes ``f`` keeps, oldest first, each as (ChangeRow, source name, *``also``)
    with ``also`` columns of its source. Raises UnknownSource for a --source not stored."""
    columns = (ChangeRow, Source.name, *also)
    found = _selected(session, f, columns, names=lambda r: (r[0].entity, r[0].old_entity), orm=True)
    return [tuple(row) for row in found]


def iter_change_rows(
    session: Session,
    f: ChangeFilter = ChangeFilter(),
    *,
    after: int | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> Iterator[dict[str, Any]]:
    """The change log as ``watcher changes`` lists it, streamed: up to ``limit`` rows after
    the change ``after`` (its id), oldest first or newest first (by check). Filtered in the
    query, along the changes' indexes; checked (UnknownSource, UnknownCursor) before the
    first row is read."""
    return map(
        change_row_of,
        _selected(session, f, CHANGE_COLUMNS, after=after, limit=limit, newest_first=newest_first),
    )


def iter_change_values(
    session: Session,
    f: ChangeFilter = ChangeFilter(),
    *,
    after: int | None = None,
    limit: int | None = None,
) -> Iterator[list[Any]]:
    """``iter_change_rows``'s rows, oldest first, as lists of their values in CHANGE_FIELDS
    order: what a long listing writes (watcher.cli.output.write_json_values), without a
    dict per row."""
    return map(change_values_of, _selected(session, f, CHANGE_COLUMNS, after=after, limit=limit))


def change_page(
    session: Session,
    f: ChangeFilter,
    *,
    after: int | None = None,
    limit: int = 100,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the change log: up to ``limit`` rows after the change ``after`` (its id:
    the cursor the previous page ended with) in the log's order, oldest first or newest
    first (by check; a check's changes in the page's order either way), and the cursor of
    the next page (None on the last). Keyset paging on the log's own order, along the
    (detected_at, to_snapshot_id, position) index, so a page costs the same at the end of a
    long history as at its start."""
    rows = list(
        iter_change_rows(session, f, after=after, limit=limit + 1, newest_first=newest_first)
    )
    page = rows[:limit]
    return page, (page[-1]["id"] if len(rows) > limit and page else None)


def changes_by_id(session: Session, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored changes of these ids, as ``change_rows`` lists them, by id (the changes a
    history names)."""
    wanted = sorted(set(ids))
    found: dict[int, dict[str, Any]] = {}
    for i in range(0, len(wanted), 500):  # bounded IN lists
        q = (
            select(*CHANGE_COLUMNS)
            .join(Source, Source.id == ChangeRow.source_id)
            .where(ChangeRow.id.in_(wanted[i : i + 500]))
        )
        for values in session.connection().execute(q).all():
            row = change_row_of(values)
            found[row["id"]] = row
    return found


def change_rows(session: Session, f: ChangeFilter = ChangeFilter()) -> list[dict[str, Any]]:
    """The change log as ``watcher changes`` lists it."""
    return list(iter_change_rows(session, f))


def describe_change(row: Mapping[str, Any]) -> str:
    """One line a person reads: "User assigned · Azure Government: Preview → Available",
    for a row of the change log (``change_rows``), uncut."""
    return describe(_as_change(row), cut=False).text


def _as_change(row: Mapping[str, Any]) -> Change:
    """A change-log row (the fields a Change and a stored change share, by their names)
    as the Change the describer reads."""
    return Change(
        kind=row["kind"],
        severity=row.get("severity") or "info",
        section=row.get("section") or "",
        entity=row.get("entity") or "",
        row=row.get("row") or "",
        column=row.get("column") or "",
        row_label=row.get("row_label") or "",
        column_label=row.get("column_label") or "",
        old_entity=row.get("old_entity"),
        old_section=row.get("old_section"),
        old_raw=row.get("old_raw"),
        new_raw=row.get("new_raw"),
        old_status=row.get("old_status"),
        new_status=row.get("new_status"),
        old_links=tuple(row.get("old_links") or ()),
        new_links=tuple(row.get("new_links") or ()),
    )
