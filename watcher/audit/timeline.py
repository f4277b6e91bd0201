"""How the cells of a page change over time: the intervals behind ``watcher history``
(its rows are watcher.audit.history's).

History reads the changes of one entity (the changes table holds every difference between
consecutive accepted snapshots), and its records only where something other than a cell's
value changed: a status or text change carries the cell's new value. Renames and moves
carry a cell's history over to its new name.

Snapshot ids grow with time within a source (history is stored oldest first: ingest
refuses an older page), which some lookups below rely on. Times are read as stored, naive
UTC: made aware row by row, they cost more than the query (watcher.audit.history writes
them with ``iso_stored``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, DateTime, and_, or_, select, type_coerce
from sqlalchemy.orm import Session

from watcher.audit.changes import CELL_KINDS, IDENTITY_KINDS
from watcher.audit.snapshots import accepted, baseline
from watcher.parse.vocabulary import normalize
from watcher.storage import records as record_sets
from watcher.storage.models import ChangeRow, RecordKey, Snapshot

CellKey = tuple[str, str, str, str]  # (section_key, entity_key, row_key, column_key)


@dataclass(slots=True)
class Interval:
    """One value of one cell, from ``since`` until ``until`` (None: it still holds), with
    the snapshot that introduced it and the change that recorded it."""

    cell: int  # one number per cell, kept across renames and moves
    raw: str
    status: str | None
    since: datetime  # naive UTC, as stored, like every time here
    snapshot: int
    change: int | None
    until: datetime | None = None


# How a cell is shown: (section, entity, row key, column key, row label, column label), as
# the page last showed it.
Display = tuple[str, str, str, str, str, str]


class Change(NamedTuple):
    """What the walk reads of a change. Rows are copied into these: a SQLAlchemy Row's
    attribute access costs ten times a tuple's, and the walk reads each field many times."""

    id: int
    to_snapshot_id: int
    detected_at: datetime
    kind: str
    section: str
    entity: str
    entity_key: str
    old_entity: str | None
    old_section: str | None
    row: str
    column: str
    row_label: str
    column_label: str
    new_raw: str | None
    new_status: str | None
    position: int


class Record(NamedTuple):
    """What the walk reads of a record (copied from its Row for the same reason)."""

    snapshot_id: int
    section: str
    entity: str
    row: str
    column: str
    raw: str
    status: str | None
    section_key: str
    entity_key: str
    row_key: str
    column_key: str


def _stored(column: Any) -> Any:
    """A time column read as stored (naive UTC), without UTCDateTime's conversion."""
    return type_coerce(column, DateTime()).label(column.key)


_IN_ORDER = attrgetter("detected_at", "to_snapshot_id", "position")
_WALKED = attrgetter(*Record._fields[1:])  # of a stored record, what the walk reads
_TAKEN_AT = _stored(Snapshot.taken_at)
_CHANGE_COLUMNS = [
    _stored(ChangeRow.detected_at) if name == "detected_at" else getattr(ChangeRow, name)
    for name in Change._fields
]


def _after_last(session: Session, source_id: int, key: str) -> tuple[int, datetime] | None:
    """The accepted snapshot right after the last one holding records of this entity key,
    where it was renamed, moved away or removed; None while it is on the latest page."""
    newest = (
        select(Snapshot.records_id)
        .where(*accepted(source_id))
        .order_by(Snapshot.taken_at.desc(), Snapshot.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Most entities asked about are on the latest page: one seek in each index says so,
    # where the search below reads every set that ever held the entity.
    q1 = select(RecordKey.set_id).where(RecordKey.entity_key == key, RecordKey.set_id == newest)
    if session.scalar(q1) is not None:
        return None
    # Snapshot ids grow with time within a source: history is stored oldest first.
    holding = select(RecordKey.set_id).where(RecordKey.entity_key == key)
    q2 = (
        select(Snapshot.id, Snapshot.taken_at)
        .where(*accepted(source_id), Snapshot.records_id.in_(holding))
        .order_by(Snapshot.id.desc())
        .limit(1)
    )
    last = session.execute(q2).first()
    if last is None:
        return None
    # Asked for in the listing index's order (source, time, id), from the last one's time
    # on: by id alone, SQLite reads all the source's snapshots in that index and sorts them.
    q3 = (
        select(Snapshot.id, _TAKEN_AT)
        .where(*accepted(source_id), Snapshot.taken_at >= last[1], Snapshot.id > last[0])
        .order_by(Snapshot.taken_at, Snapshot.id)
        .limit(1)
    )
    row = session.execute(q3).first()
    return None if row is None else (row[0], row[1])


def _entity_changes(
    session: Session, source_id: int, wanted: set[str], only: list[ColumnElement[bool]]
) -> tuple[set[str], dict[int, datetime], list[Change]]:
    """The keys an entity had before and after renames; the snapshots right after each
    key's last appearance, with their times; and every change of these keys and of the
    sections and page (the changes with no entity), as far as ``only`` keeps them."""
    # Plain rows through the connection, fetched at once (iterated, a Core result fetches row
    # by row): the ORM's result handling costs more than these queries.
    core = session.connection()
    keys, fetched, checked = set(wanted), set[str](), set[str]()
    ends: dict[int, datetime] = {}
    changes: list[Change] = []
    while True:
        todo = keys - fetched
        if todo:
            asked = [*todo] if fetched else [*todo, ""]
            fetched |= todo
            q = select(*_CHANGE_COLUMNS).where(
                ChangeRow.source_id == source_id, ChangeRow.entity_key.in_(asked), *only
            )
            changes += map(Change._make, core.execute(q).all())
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
            found.update(ek for ek, old in core.execute(forward) if normalize(old) == key)
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
    keys, ends, found = _entity_changes(session, source_id, wanted, _only_cells(rows, columns))
    first = baseline(session, source_id)
    if first is not None:  # read as an aware time: made naive, as every time here
        first = (first[0], first[1].replace(tzinfo=None))
    plan = _Plan.of(found, ends, first)
    records = _records_at(session, keys, sorted(plan.structural))
    walk = Walk()
    for snap in sorted(plan.times, key=lambda s: (plan.times[s], s)):
        here = plan.by_snapshot.get(snap, [])
        if snap in plan.structural:
            walk.page(snap, plan.times[snap], here, records.get(snap, []))
        else:
            walk.cell_changes(snap, plan.times[snap], here)
    return walk.finish(), walk.last_seen


def _only_cells(rows: set[str] | None, columns: set[str] | None) -> list[ColumnElement[bool]]:
    """The condition that keeps, of the cell changes, only those of these rows and columns
    (every change that is not a cell's own is kept)."""
    if rows is None and columns is None:
        return []
    wanted_cells = [ChangeRow.kind.in_(CELL_KINDS)]
    if rows is not None:
        wanted_cells.append(ChangeRow.row.in_(rows))
    if columns is not None:
        wanted_cells.append(ChangeRow.column.in_(columns))
    return [or_(ChangeRow.kind.not_in(CELL_KINDS), and_(*wanted_cells))]


@dataclass
class _Plan:
    """Which snapshots the walk visits, when each was taken, the changes each brought, and
    which of them are structural (their records must be read)."""

    times: dict[int, datetime]
    by_snapshot: dict[int, list[Change]]
    structural: set[int]

    @classmethod
    def of(
        cls, found: list[Change], ends: dict[int, datetime], first: tuple[int, datetime] | None
    ) -> _Plan:
        # Sorted here, not in SQL: asked to sort by time, SQLite walks every change of the
        # source in time order instead of this entity's few through its index.
        changes = sorted(found, key=_IN_ORDER)
        # Each snapshot's time: a change's detected_at is its snapshot's taken_at.
        plan = cls(times=dict(ends), by_snapshot={}, structural=set(ends))
        for c in changes:
            plan.by_snapshot.setdefault(c.to_snapshot_id, []).append(c)
            plan.times[c.to_snapshot_id] = c.detected_at
            if c.kind not in CELL_KINDS:
                plan.structural.add(c.to_snapshot_id)
        if first is not None:
            plan.structural.add(first[0])
            plan.times[first[0]] = first[1]
        return plan


def _records_at(session: Session, keys: set[str], snapshots: list[int]) -> dict[int, list[Record]]:
    """The records of these entity keys at these snapshots, by snapshot, in page order."""
    records: dict[int, list[Record]] = {}
    for snap, found in record_sets.of_snapshots(session, snapshots).items():
        here = [Record(snap, *_WALKED(r)) for r in found if r.entity_key in keys]
        if here:
            records[snap] = here
    return records


@dataclass
class Walk:
    """The cells' intervals, built snapshot by snapshot, oldest first."""

    open: dict[CellKey, Interval] = field(default_factory=dict)
    cell_of: dict[CellKey, int] = field(default_factory=dict)
    last_seen: dict[int, Display] = field(default_factory=dict)
    done: list[Interval] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)  # display → key, memoized

    def page(self, snap: int, at: datetime, here: Sequence[Change], rows: Sequence[Record]) -> None:
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

    def cell_changes(self, snap: int, at: datetime, here: Sequence[Change]) -> None:
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


def _carry_over(c: Change, open_: dict[CellKey, Interval], cell_of: dict[CellKey, int]) -> None:
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


def _recorded_by(changes: Sequence[Change], key: CellKey) -> int | None:
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
