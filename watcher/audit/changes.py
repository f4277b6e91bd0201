"""The change log: every stored change, filtered as ``watcher changes`` asks, as flat rows.

Rows are plain dicts whose keys are the command-line contract's JSON fields (DESIGN.md), so
table, JSON and CSV output share one shape, named in watcher.storage.changelog (the webhook
channel sends the same rows). ``change_body`` is the part a stored change and a freshly
computed one (``watcher diff A B``) share. The export with provenance is
watcher.audit.export.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, tuple_
from sqlalchemy.orm import QueryableAttribute, Session

from watcher.audit.sources import UnknownCursor, require_source, sources
from watcher.domain.describe import describe
from watcher.domain.document import SEVERITY_RANK, Change

# Re-exported: the command line and the other audit modules name them from here.
from watcher.storage.changelog import CHANGE_BODY as CHANGE_BODY
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


def _entity_wanted(f: ChangeFilter, change: ChangeRow) -> bool:
    if f.entity is None:
        return True
    pattern = f.entity.casefold()
    return any(
        name and fnmatchcase(name.casefold(), pattern)
        for name in (change.entity, change.old_entity)
    )


def filtered_changes(
    session: Session, f: ChangeFilter, *also: QueryableAttribute[Any]
) -> list[tuple[Any, ...]]:
    """The changes ``f`` keeps, oldest first, each as (ChangeRow, source name, *``also``)
    with ``also`` columns of its source. Raises UnknownSource for a --source not stored."""
    require_source(session, f.source)
    q = (
        select(ChangeRow, Source.name, *also)
        .join(Source, Source.id == ChangeRow.source_id)
        .where(*_conditions(f))
        .order_by(*_CHANGE_ORDER)
    )
    return [tuple(row) for row in session.execute(q) if _entity_wanted(f, row[0])]


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
    the next page (None on the last). Keyset paging on the log's own order, read source by
    source along the (source, time) index with a LIMIT, so a page costs the same at the
    end of a long history as at its start."""
    mark: tuple[Any, ...] | None = None
    if after is not None:
        found = session.execute(select(*_CHANGE_ORDER).where(ChangeRow.id == after)).first()
        if found is None:
            raise UnknownCursor(f"no change {after} to page on from")
        mark = tuple(found)
    found_rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    more = False
    for source_id, _ in sources(session, f.source):
        rows, rest = _source_page(session, f, source_id, mark, limit, newest_first)
        found_rows += rows
        more |= rest
    # The sources' pages merged in the log's order: newest check first, page order within.
    found_rows.sort(key=lambda kr: kr[0][2])
    found_rows.sort(key=lambda kr: kr[0][:2], reverse=newest_first)
    page = [row for _, row in found_rows[:limit]]
    more |= len(found_rows) > limit
    return page, (page[-1]["id"] if more and page else None)


def _source_page(
    session: Session,
    f: ChangeFilter,
    source_id: int,
    mark: tuple[Any, ...] | None,
    limit: int,
    newest_first: bool,
) -> tuple[list[tuple[tuple[Any, ...], dict[str, Any]]], bool]:
    """Up to ``limit`` changes of one source after ``mark``, each with its place in the
    order, and whether more follow."""
    rows: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    # An entity glob is matched here, not in SQL, so a page may need more rows than it
    # shows: read in batches; without one, limit + 1 rows tell whether another page follows.
    batch = limit + 1 if f.entity is None else max(4 * limit, 200)
    while True:
        q = _page_query(f, source_id, mark, newest_first).limit(batch)
        read = session.execute(q).all()
        for change, source in read:
            if not _entity_wanted(f, change):
                continue
            if len(rows) == limit:
                return rows, True
            key = (change.detected_at, change.to_snapshot_id, change.position)
            rows.append((key, change_row(change, source)))
        if len(read) < batch:
            return rows, False
        last = read[-1][0]
        mark = (last.detected_at, last.to_snapshot_id, last.position)


def _page_query(
    f: ChangeFilter, source_id: int, mark: tuple[Any, ...] | None, newest_first: bool
) -> Any:
    """The changes of one source ``f`` keeps after ``mark`` (a row's place in the order)."""
    when, snap, position = _CHANGE_ORDER
    # Newest first is by check, newest first; within one check, the page's order still.
    order = [when.desc(), snap.desc(), position] if newest_first else list(_CHANGE_ORDER)
    q = (
        select(ChangeRow, Source.name)
        .join(Source, Source.id == ChangeRow.source_id)
        .where(ChangeRow.source_id == source_id, *_conditions(f))
        .order_by(*order)
    )
    if mark is None:
        return q
    if newest_first:
        same_check = and_(when == mark[0], snap == mark[1], position > mark[2])
        return q.where(or_(tuple_(when, snap) < tuple_(mark[0], mark[1]), same_check))
    return q.where(tuple_(*_CHANGE_ORDER) > tuple_(*mark))


def changes_by_id(session: Session, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored changes of these ids, as ``change_rows`` lists them, by id (the changes a
    history names)."""
    wanted = sorted(set(ids))
    found: dict[int, dict[str, Any]] = {}
    for i in range(0, len(wanted), 500):  # bounded IN lists
        q = (
            select(ChangeRow, Source.name)
            .join(Source, Source.id == ChangeRow.source_id)
            .where(ChangeRow.id.in_(wanted[i : i + 500]))
        )
        for change, source in session.execute(q):
            found[change.id] = change_row(change, source)
    return found


def change_rows(session: Session, f: ChangeFilter = ChangeFilter()) -> list[dict[str, Any]]:
    """The change log as ``watcher changes`` lists it."""
    return [change_row(change, source) for change, source in filtered_changes(session, f)]


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
