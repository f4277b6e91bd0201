"""The page as it stood at a moment (``watcher state``): the records of the accepted
snapshot of that moment, each with ``since``, when the cell took its value.

How it stays fast on long histories. A snapshot names the set of every record of its page,
so the page at a moment is one read of one record set. *When* a cell took its value is not
worked out from the records of all earlier snapshots (10,000 snapshots of 300 cells are
millions of rows) but from the changes table, which holds every difference between
consecutive accepted snapshots: a cell took its current value at the latest change that
touched it (a status or text change of the cell; its entity, row, column or section being
added; a change of page format), or at the baseline when none did. Renames and moves carry
a cell's history over to its new name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watcher.audit.changes import IDENTITY_KINDS
from watcher.audit.snapshots import baseline, snapshot_at
from watcher.audit.sources import entity_matcher, sources
from watcher.domain.document import Record
from watcher.domain.times import iso
from watcher.parse.vocabulary import normalize
from watcher.storage import store
from watcher.storage.models import ChangeRow

STATE_FIELDS = (
    "section",
    "entity",
    "row",
    "column",
    "raw",
    "status",
    "since",
    "snapshot",
    "source",
    "row_label",
    "column_label",
)


def state_rows(
    session: Session,
    source: str | None = None,
    at: datetime | None = None,
    entity: str | None = None,
) -> list[dict[str, Any]]:
    """The records of the latest accepted snapshot taken at or before ``at`` (default: the
    latest), each with ``since``, the time the cell took its current raw text and status."""
    wanted = entity_matcher(entity) if entity else None
    rows: list[dict[str, Any]] = []
    for source_id, name in sources(session, source):
        snap = snapshot_at(session, source_id, at)
        if snap is None:
            continue
        snapshot_id, taken_at = snap
        records = store.snapshot_records(session, snapshot_id)
        if wanted is not None:
            records = tuple(r for r in records if wanted(r.entity, r.entity_key))
        probed = latest_changes(session, source_id, taken_at, records)
        since = Since(session, source_id, taken_at)
        since.load(r.entity_key for r in records)
        for r in records:
            cell = (r.section, r.entity_key, r.row_key, r.column_key)
            rows.append(
                {
                    "section": r.section,
                    "entity": r.entity,
                    "row": r.row_key,
                    "column": r.column_key,
                    "raw": r.raw,
                    "status": r.status,
                    "since": iso(since.of(*cell, probed[cell])),
                    "snapshot": snapshot_id,
                    "source": name,
                    "row_label": r.row,
                    "column_label": r.column,
                }
            )
    return rows


Ident = tuple[str, str]  # (section as the page shows it, entity_key)
_ENTITY_EVENTS = ("entity_added", "entity_removed")
_SECTION_EVENTS = ("section_added", "section_removed")
_ATTRIBUTE_EVENTS = ("attribute_added", "attribute_removed")


Probed = tuple[datetime | None, datetime | None, datetime | None]
Cell = tuple[str, str, str, str]  # (section as the page shows it, entity, row, column keys)
_CHUNK = 500  # cells per statement: four bound values each, far below either server's limit
_STEP = 50  # statements are built for multiples of this many cells


def latest_changes(
    session: Session, source_id: int, cutoff: datetime, records: Iterable[Record]
) -> dict[Cell, Probed]:
    """For each cell of these records, the latest change (up to ``cutoff``) of the cell, of
    its row and of its column within its entity: three index seeks per cell, the cells
    handed to the database as a VALUES list, a few hundred per statement (on PostgreSQL as
    four arrays, one statement). Run on the session's driver connection, in its
    transaction: SQLAlchemy made a cache key of, and bound, each of the statement's 1,000
    parameters on every use, which took as long as the seeks."""
    cells = list(dict.fromkeys((r.section, r.entity_key, r.row_key, r.column_key) for r in records))
    found: dict[Cell, Probed] = {}
    if not cells:
        return found
    conn = store.driver(session)
    # Each of the three probes compares with the source and the cutoff, the cutoff stored as
    # the column holds times (text on SQLite, compared as text).
    tail = [source_id, conn.stamp(cutoff)] * 3
    statements: list[tuple[str, list[Any]]] = []
    if conn.dialect == "postgresql":
        statements.append((_probe_statement(0), [*map(list, zip(*cells, strict=True)), *tail]))
    else:
        for i in range(0, len(cells), _CHUNK):
            chunk = cells[i : i + _CHUNK]
            size = -(-len(chunk) // _STEP) * _STEP
            padded = chunk + [chunk[-1]] * (size - len(chunk))  # the last cell again
            statements.append((_probe_statement(size), [*chain.from_iterable(padded), *tail]))
    for sql, params in statements:
        cur = conn.execute(sql, params)
        try:
            rows = cur.fetchall()
        finally:
            cur.close()
        for section, ek, rk, ck, cell_at, row_at, column_at in rows:
            found[(section, ek, rk, ck)] = (
                conn.time(cell_at),
                conn.time(row_at),
                conn.time(column_at),
            )
    return found


def _latest(row: str, column: str) -> str:
    """The time of the latest change of a key of the cell (``cells``' row) up to the cutoff:
    one index seek on changes(source_id, entity_key, row, column, detected_at)."""
    return (
        "(SELECT c.detected_at FROM changes AS c"
        " WHERE c.source_id = ? AND c.entity_key = cells.entity_key"
        f' AND c."row" = {row} AND c."column" = {column} AND c.section = cells.section'
        " AND c.detected_at <= ? ORDER BY c.detected_at DESC LIMIT 1)"
    )


@lru_cache(maxsize=_CHUNK // _STEP)
def _probe_statement(size: int) -> str:
    """``latest_changes``'s statement for ``size`` cells, their values bound in order
    (section, entity, row, column of each), then the source and the cutoff of each probe;
    for size 0, PostgreSQL's, the cells as four text arrays. Built once per size, and the
    same text each time, so the driver's statement cache keeps it. WITH cells(...) AS
    (VALUES ...), because SQLite names no columns of a bare VALUES. PostgreSQL ran the
    VALUES form three times slower than the arrays (binding 1,600 parameters)."""
    if size == 0:
        listed = "SELECT * FROM unnest(" + ", ".join(["CAST(? AS text[])"] * 4) + ")"
    else:
        listed = "VALUES " + ", ".join(["(?, ?, ?, ?)"] * size)
    cell, key, none = "cells.row_key", "cells.column_key", "''"
    probes = ", ".join((_latest(cell, key), _latest(cell, none), _latest(none, key)))
    return (
        f"WITH cells(section, entity_key, row_key, column_key) AS ({listed}) "
        f"SELECT cells.section, cells.entity_key, cells.row_key, cells.column_key, {probes} "
        "FROM cells"
    )


class Since:
    """When each cell of one snapshot took its current value, from the changes table.

    A cell took its value at the latest change that touched it: a change of the cell itself,
    or of its row or column within its entity (those are three indexed lookups per cell,
    read with the records); its entity added or removed; its section added or removed, or
    a row or column of the whole section; a change of page format; else the baseline.
    Whatever removed the cell was followed by what brought it back, so the latest of all
    these is always what set it. Renames and moves are no change of value: the cell looks
    back under its old name, up to the rename.
    """

    def __init__(self, session: Session, source_id: int, taken_at: datetime) -> None:
        self.source_id, self.taken_at = source_id, taken_at
        # Plain rows through the connection: the ORM's result handling costs more here.
        self.core = session.connection()
        first = baseline(session, source_id)
        self.baseline = first[1] if first is not None else taken_at
        self.entity_events: dict[Ident, list[datetime]] = {}
        self.renames: dict[Ident, list[tuple[Ident, datetime]]] = {}
        self.section_events: dict[str, list[datetime]] = {}
        self.section_attributes: dict[str, list[tuple[str, str, datetime]]] = {}
        self.moves: dict[str, list[tuple[str, datetime]]] = {}
        self.formats: list[datetime] = []
        self.loaded: set[str] = set()
        # Section- and page-wide changes have no entity; there are few of them.
        q = select(
            ChangeRow.kind,
            ChangeRow.section,
            ChangeRow.old_section,
            ChangeRow.row,
            ChangeRow.column,
            ChangeRow.detected_at,
        ).where(
            ChangeRow.source_id == source_id,
            ChangeRow.entity_key == "",
            ChangeRow.detected_at <= taken_at,
        )
        for kind, section, old_section, row, column, at in self.core.execute(q).all():
            if kind == "format_changed":
                self.formats.append(at)
            elif kind in _SECTION_EVENTS:
                self.section_events.setdefault(section, []).append(at)
            elif kind in _ATTRIBUTE_EVENTS:
                self.section_attributes.setdefault(section, []).append((row, column, at))
            elif kind in IDENTITY_KINDS and old_section is not None:
                self.moves.setdefault(section, []).append((old_section, at))

    def load(self, keys: Iterable[str]) -> None:
        """The entity-level changes (added, removed, renamed, moved) of these entities."""
        wanted = set(keys) - self.loaded
        if not wanted:
            return
        self.loaded |= wanted
        q = select(
            ChangeRow.kind,
            ChangeRow.section,
            ChangeRow.entity_key,
            ChangeRow.old_entity,
            ChangeRow.old_section,
            ChangeRow.detected_at,
        ).where(
            ChangeRow.source_id == self.source_id,
            ChangeRow.entity_key.in_(wanted),
            ChangeRow.row == "",
            ChangeRow.column == "",
            ChangeRow.detected_at <= self.taken_at,
        )
        for kind, section, ek, old_entity, old_section, at in self.core.execute(q).all():
            if kind in _ENTITY_EVENTS:
                self.entity_events.setdefault((section, ek), []).append(at)
            elif kind in IDENTITY_KINDS:
                old = (
                    old_section if old_section is not None else section,
                    normalize(old_entity) if old_entity is not None else ek,
                )
                if old != (section, ek):
                    self.renames.setdefault((section, ek), []).append((old, at))

    def of(
        self,
        section: str,
        ek: str,
        row: str,
        column: str,
        probed: Probed,
    ) -> datetime:
        return self._since((section, ek), row, column, None, probed, 0)

    def _since(
        self,
        ident: Ident,
        row: str,
        column: str,
        before: datetime | None,
        probed: tuple[datetime | None, datetime | None, datetime | None],
        depth: int,
    ) -> datetime:
        section, _ = ident
        cell_at, row_at, column_at = probed
        # A cell with no row key (a flat table's) has no row or column apart from itself.
        times = [t for t in (cell_at, row_at if row else None, column_at if row else None) if t]
        times += self.entity_events.get(ident, ())
        times += self.section_events.get(section, ())
        times += self.formats
        times += [
            at
            for a_row, a_column, at in self.section_attributes.get(section, ())
            if a_row in ("", row) and a_column in ("", column)
        ]
        if before is not None:
            times = [t for t in times if t < before]
        best = max([self.baseline, *times])
        if depth >= 16:  # a guard against rename cycles (A → B → A)
            return best
        olds = [*self.renames.get(ident, ())]
        olds += [((old_section, ident[1]), at) for old_section, at in self.moves.get(section, ())]
        for old, at in olds:
            if (before is None or at < before) and at > best:
                self.load([old[1]])
                earlier = self._since(
                    old, row, column, at, self._probe(old, row, column, at), depth + 1
                )
                best = max(best, earlier)
        return best

    def _probe(
        self, ident: Ident, row: str, column: str, before: datetime
    ) -> tuple[datetime | None, datetime | None, datetime | None]:
        """The three lookups of ``latest_changes`` for a cell under an old name, before
        ``before``."""
        section, ek = ident
        found: list[datetime | None] = []
        for r, c in ((row, column), (row, ""), ("", column)):
            q = (
                select(ChangeRow.detected_at)
                .where(
                    ChangeRow.source_id == self.source_id,
                    ChangeRow.entity_key == ek,
                    ChangeRow.row == r,
                    ChangeRow.column == c,
                    ChangeRow.section == section,
                    ChangeRow.detected_at < before,
                )
                .order_by(ChangeRow.detected_at.desc())
                .limit(1)
            )
            found.append(self.core.scalar(q))
        return found[0], found[1], found[2]
