"""How the cells of a page change over time: the engine behind ``watcher state`` and
``watcher history`` (their row shapes are in watcher.audit.queries).

How they stay fast on long histories. A snapshot stores every record of the page, so the
page at a moment is one indexed read of one snapshot. *When* a cell took its value is not
worked out from the records of all earlier snapshots (10,000 snapshots of 300 cells are
millions of rows) but from the changes table, which holds every difference between
consecutive accepted snapshots: a cell took its current value at the latest change that
touched it (a status or text change of the cell; its entity, row, column or section being
added; a change of page format), or at the baseline when none did. Renames and moves carry
a cell's history over to its new name. History reads the changes of one entity, and its
records only where something other than a cell's value changed.

Snapshot ids grow with time within a source (history is stored oldest first: ingest
refuses an older page), which some lookups below rely on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Executable, ScalarSelect, and_, bindparam, or_, select
from sqlalchemy.orm import Session, aliased

from watcher.parse.vocabulary import normalize
from watcher.storage.models import ChangeRow, RecordRow, Snapshot

# Change kinds by what they do to a cell (see Since and cell_intervals).
CELL_KINDS = ("status_changed", "value_changed")
IDENTITY_KINDS = ("entity_renamed", "entity_moved")


def accepted(source_id: int) -> tuple[ColumnElement[bool], ...]:
    """The conditions on snapshots that stand for the page: the source's accepted ones."""
    return (Snapshot.source_id == source_id, Snapshot.state == "accepted")


def snapshot_at(
    session: Session, source_id: int, at: datetime | None
) -> tuple[int, datetime] | None:
    """The latest accepted snapshot taken at or before ``at`` (or the latest of all)."""
    q = select(Snapshot.id, Snapshot.taken_at).where(*accepted(source_id))
    if at is not None:
        q = q.where(Snapshot.taken_at <= at)
    q = q.order_by(Snapshot.taken_at.desc(), Snapshot.id.desc()).limit(1)
    row = session.execute(q).first()
    return None if row is None else (row[0], row[1])


def baseline(session: Session, source_id: int) -> tuple[int, datetime] | None:
    """The source's first accepted snapshot: where every history starts."""
    q = select(Snapshot.id, Snapshot.taken_at).where(*accepted(source_id))
    row = session.execute(q.order_by(Snapshot.taken_at, Snapshot.id).limit(1)).first()
    return None if row is None else (row[0], row[1])


Ident = tuple[str, str]  # (section as the page shows it, entity_key)
_ENTITY_EVENTS = ("entity_added", "entity_removed")
_SECTION_EVENTS = ("section_added", "section_removed")
_ATTRIBUTE_EVENTS = ("attribute_added", "attribute_removed")


def _latest_change(*, row: Any, column: Any) -> ScalarSelect[datetime]:
    """The time of the latest change of a key of the records row being read, up to the
    ``cutoff`` parameter: one index seek on changes(source_id, entity_key, row, column,
    detected_at)."""
    c = aliased(ChangeRow)
    return (
        select(c.detected_at)
        .where(
            c.source_id == bindparam("source_id"),
            c.entity_key == RecordRow.entity_key,
            c.row == row,
            c.column == column,
            c.section == RecordRow.section,
            c.detected_at <= bindparam("cutoff"),
        )
        .order_by(c.detected_at.desc())
        .limit(1)
        .scalar_subquery()
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
        self.session, self.source_id, self.taken_at = session, source_id, taken_at
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
        for kind, section, old_section, row, column, at in session.execute(q):
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
        for kind, section, ek, old_entity, old_section, at in self.session.execute(q):
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
        probed: tuple[datetime | None, datetime | None, datetime | None],
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
        """The three lookups of ``state_statement`` for a cell under an old name, before
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
            found.append(self.session.scalar(q))
        return found[0], found[1], found[2]


@lru_cache(maxsize=1)
def state_statement() -> Executable:
    """The records of one snapshot, each with three lookups: the latest change (up to the
    snapshot) of its cell, of its row and of its column within its entity. Built once: a
    statement of correlated subqueries costs more to construct than to run."""
    return (
        select(
            RecordRow.section,
            RecordRow.entity,
            RecordRow.row,
            RecordRow.column,
            RecordRow.raw,
            RecordRow.status,
            RecordRow.entity_key,
            RecordRow.row_key,
            RecordRow.column_key,
            _latest_change(row=RecordRow.row_key, column=RecordRow.column_key),
            _latest_change(row=RecordRow.row_key, column=""),
            _latest_change(row="", column=RecordRow.column_key),
        )
        .where(RecordRow.snapshot_id == bindparam("snapshot_id"))
        .order_by(RecordRow.position)
    )


CellKey = tuple[str, str, str, str]  # (section_key, entity_key, row_key, column_key)


@dataclass(slots=True)
class Interval:
    """One value of one cell, from ``since`` until ``until`` (None: it still holds), with
    the snapshot that introduced it and the change that recorded it."""

    cell: int  # one number per cell, kept across renames and moves
    raw: str
    status: str | None
    since: datetime
    snapshot: int
    change: int | None
    until: datetime | None = None


# How a cell is shown: (section, entity, row key, column key, row label, column label), as
# the page last showed it.
Display = tuple[str, str, str, str, str, str]


_HISTORY_CHANGE_COLUMNS = (
    ChangeRow.id,
    ChangeRow.to_snapshot_id,
    ChangeRow.detected_at,
    ChangeRow.kind,
    ChangeRow.section,
    ChangeRow.entity,
    ChangeRow.entity_key,
    ChangeRow.old_entity,
    ChangeRow.old_section,
    ChangeRow.row,
    ChangeRow.column,
    ChangeRow.row_label,
    ChangeRow.column_label,
    ChangeRow.new_raw,
    ChangeRow.new_status,
    ChangeRow.position,
)


def _after_last(session: Session, source_id: int, key: str) -> tuple[int, datetime] | None:
    """The accepted snapshot right after the last one holding records of this entity key,
    where it was renamed, moved away or removed; None while it is on the latest page.
    One statement: every round trip counts on a long history."""
    # Snapshot ids grow with time within a source: history is stored oldest first.
    last = (
        select(RecordRow.snapshot_id)
        .join(Snapshot, Snapshot.id == RecordRow.snapshot_id)
        .where(RecordRow.entity_key == key, *accepted(source_id))
        .order_by(RecordRow.snapshot_id.desc())
        .limit(1)
        .scalar_subquery()
    )
    q = (
        select(Snapshot.id, Snapshot.taken_at)
        .where(*accepted(source_id), Snapshot.id > last)
        .order_by(Snapshot.id)
        .limit(1)
    )
    row = session.execute(q).first()
    return None if row is None else (row[0], row[1])


def _entity_changes(
    session: Session, source_id: int, wanted: set[str], only: list[ColumnElement[bool]]
) -> tuple[set[str], dict[int, datetime], list[Any]]:
    """The keys an entity had before and after renames; the snapshots right after each
    key's last appearance, with their times; and every change of these keys and of the
    sections and page (the changes with no entity), as far as ``only`` keeps them."""
    keys, fetched, checked = set(wanted), set[str](), set[str]()
    ends: dict[int, datetime] = {}
    changes: list[Any] = []
    while True:
        todo = keys - fetched
        if todo:
            asked = [*todo] if fetched else [*todo, ""]
            fetched |= todo
            q = select(*_HISTORY_CHANGE_COLUMNS).where(
                ChangeRow.source_id == source_id, ChangeRow.entity_key.in_(asked), *only
            )
            changes += session.execute(q).all()
        # Renamed or moved into one of the keys: follow the old key back.
        found = {
            normalize(c.old_entity)
            for c in changes
            if c.kind in IDENTITY_KINDS and c.old_entity is not None and c.entity_key in keys
        }
        # Gone from the page: renamed or moved away, or removed.
        for key in keys - checked:
            checked.add(key)
            after = _after_last(session, source_id, key)
            if after is None:
                continue
            ends[after[0]] = after[1]
            forward = select(ChangeRow.entity_key, ChangeRow.old_entity).where(
                ChangeRow.to_snapshot_id == after[0],
                ChangeRow.kind.in_(IDENTITY_KINDS),
                ChangeRow.old_entity.is_not(None),
            )
            found.update(ek for ek, old in session.execute(forward) if normalize(old) == key)
        found -= keys
        if not found:
            return keys, ends, changes
        keys |= found


def cell_intervals(
    session: Session,
    source_id: int,
    wanted: set[str],
    *,
    rows: set[str] | None = None,
    columns: set[str] | None = None,
) -> tuple[list[Interval], dict[int, Display]]:
    """The intervals of every cell of the entities, and each cell's last record: cells are
    reported under their latest section, name and labels.

    A status or text change of a cell carries the cell's new value, so the records are read
    only at the snapshots where something else happened to the entity or its section (it
    was added, removed, renamed or moved; a row or column came or went; the page format
    changed), at the baseline, and just after each name's last appearance. With ``rows`` or
    ``columns``, the changes of other cells are not read.
    """
    only: list[ColumnElement[bool]] = []
    if rows is not None or columns is not None:
        wanted_cells = [ChangeRow.kind.in_(CELL_KINDS)]
        if rows is not None:
            wanted_cells.append(ChangeRow.row.in_(rows))
        if columns is not None:
            wanted_cells.append(ChangeRow.column.in_(columns))
        only.append(or_(ChangeRow.kind.not_in(CELL_KINDS), and_(*wanted_cells)))
    keys, ends, found = _entity_changes(session, source_id, wanted, only)
    # Sorted here, not in SQL: asked to sort by time, SQLite walks every change of the
    # source in time order instead of this entity's few through its index.
    changes = sorted(found, key=lambda c: (c.detected_at, c.to_snapshot_id, c.position))
    by_snapshot: dict[int, list[Any]] = {}
    # Each snapshot's time: a change's detected_at is its snapshot's taken_at.
    times: dict[int, datetime] = dict(ends)
    structural = set(ends)
    for c in changes:
        by_snapshot.setdefault(c.to_snapshot_id, []).append(c)
        times[c.to_snapshot_id] = c.detected_at
        if c.kind not in CELL_KINDS:
            structural.add(c.to_snapshot_id)
    first = baseline(session, source_id)
    if first is not None:
        structural.add(first[0])
        times[first[0]] = first[1]
    records: dict[int, list[Any]] = {}
    ids = sorted(structural)
    for i in range(0, len(ids), 500):  # bounded IN lists
        chunk = ids[i : i + 500]
        q = (
            select(
                RecordRow.snapshot_id,
                RecordRow.section,
                RecordRow.entity,
                RecordRow.row,
                RecordRow.column,
                RecordRow.raw,
                RecordRow.status,
                RecordRow.section_key,
                RecordRow.entity_key,
                RecordRow.row_key,
                RecordRow.column_key,
            )
            .where(RecordRow.entity_key.in_(keys), RecordRow.snapshot_id.in_(chunk))
            .order_by(RecordRow.snapshot_id, RecordRow.position)
        )
        for r in session.execute(q):
            records.setdefault(r.snapshot_id, []).append(r)

    walk = Walk()
    for snap in sorted(times, key=lambda s: (times[s], s)):
        here = by_snapshot.get(snap, [])
        if snap in structural:
            walk.page(snap, times[snap], here, records.get(snap, []))
        else:
            walk.cell_changes(snap, times[snap], here)
    return walk.finish(), walk.last_seen


@dataclass
class Walk:
    """The cells' intervals, built snapshot by snapshot, oldest first."""

    open: dict[CellKey, Interval] = field(default_factory=dict)
    cell_of: dict[CellKey, int] = field(default_factory=dict)
    last_seen: dict[int, Display] = field(default_factory=dict)
    done: list[Interval] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)  # display → key, memoized

    def page(self, snap: int, at: datetime, here: Sequence[Any], rows: Sequence[Any]) -> None:
        """Compare the entities' records at this snapshot with the open intervals."""
        for c in here:
            if c.kind in IDENTITY_KINDS:
                _carry_over(c, self.open, self.cell_of)
        reset = any(c.kind == "format_changed" for c in here)
        present = {(r.section_key, r.entity_key, r.row_key, r.column_key): r for r in rows}
        for key in [k for k in self.open if k not in present or reset]:
            self._close(key, at)
        for key, r in present.items():
            display = (r.section, r.entity, r.row_key, r.column_key, r.row, r.column)
            current = self.open.get(key)
            if current is not None and (current.raw, current.status) == (r.raw, r.status):
                self.last_seen[current.cell] = display
                continue
            self._set(key, r.raw, r.status, display, at, snap, _recorded_by(here, key))

    def cell_changes(self, snap: int, at: datetime, here: Sequence[Any]) -> None:
        """A snapshot where only cells changed: the change rows hold the new values."""
        sections = self.sections
        for c in here:
            section_key = sections.get(c.section)
            if section_key is None:
                section_key = sections[c.section] = normalize(c.section)
            self._set(
                (section_key, c.entity_key, c.row, c.column),
                c.new_raw or "",
                c.new_status,
                (c.section, c.entity, c.row, c.column, c.row_label, c.column_label),
                at,
                snap,
                c.id,
            )

    def _set(
        self,
        key: CellKey,
        raw: str,
        status: str | None,
        display: Display,
        at: datetime,
        snap: int,
        change: int | None,
    ) -> None:
        current = self.open.get(key)
        if current is not None:
            self._close(key, at)
            cell = current.cell
        else:
            cell = self.cell_of.setdefault(key, len(self.cell_of))
        self.last_seen[cell] = display
        self.open[key] = Interval(cell, raw, status, at, snap, change)

    def _close(self, key: CellKey, at: datetime) -> None:
        interval = self.open.pop(key)
        interval.until = at
        self.done.append(interval)

    def finish(self) -> list[Interval]:
        self.done.extend(self.open.values())
        self.open.clear()
        self.done.sort(key=lambda iv: (iv.cell, iv.since))
        return self.done


def _carry_over(c: Any, open_: dict[CellKey, Interval], cell_of: dict[CellKey, int]) -> None:
    """A rename or move: the entity's open cells continue under their new keys."""
    sk = normalize(c.section)
    old_sk = normalize(c.old_section) if c.old_section is not None else sk
    whole_section = not c.entity_key and c.old_entity is None
    old_ek = normalize(c.old_entity) if c.old_entity is not None else c.entity_key
    for key in list(cell_of):
        k_sk, k_ek, row, column = key
        if k_sk != old_sk or (not whole_section and k_ek != old_ek):
            continue
        new = (sk, k_ek if whole_section else c.entity_key, row, column)
        cell_of[new] = cell_of.pop(key)
        if key in open_:
            open_[new] = open_.pop(key)


def _recorded_by(changes: Sequence[Any], key: CellKey) -> int | None:
    """The change of this snapshot that set the cell: its own change, else the addition of
    its entity, row or column, or section, else a change of format."""
    sk, ek, row, column = key
    ranked: list[tuple[int, int]] = []
    for c in changes:
        same_section = normalize(c.section) == sk
        if c.kind in CELL_KINDS:
            hit = same_section and (c.entity_key, c.row, c.column) == (ek, row, column)
            rank = 0
        elif c.kind == "entity_added":
            hit, rank = same_section and c.entity_key == ek, 1
        elif c.kind == "attribute_added":
            hit = (
                same_section
                and c.entity_key in ("", ek)
                and c.row in ("", row)
                and c.column in ("", column)
            )
            rank = 2
        elif c.kind == "section_added":
            hit, rank = same_section, 3
        elif c.kind == "format_changed":
            hit, rank = True, 4
        else:
            hit, rank = c.entity_key == ek, 5
        if hit:
            ranked.append((rank, c.id))
    return min(ranked)[1] if ranked else None
