"""Read-side queries: the change log and its export, snapshots, the page as it stood at a
moment (``state``) and each cell's timeline (``history``); flat rows ready for output.

Every function returns a list of plain dicts whose keys are the command-line contract's
JSON fields (DESIGN.md), so table, JSON and CSV output share one shape.

The work behind ``state`` and ``history`` (when each cell took its value, each cell's
intervals) is in watcher.audit.timeline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fnmatch import fnmatchcase
from typing import Any, TextIO

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from watcher.audit.timeline import Since, cell_intervals, snapshot_at, state_statement
from watcher.domain.document import SEVERITY_RANK
from watcher.parse.vocabulary import canonical_column, canonical_row, normalize
from watcher.storage.models import ChangeRow, RecordRow, Snapshot, Source

CHANGE_FIELDS = (
    "id",
    "source",
    "detected_at",
    "from_snapshot",
    "to_snapshot",
    "kind",
    "severity",
    "section",
    "entity",
    "old_entity",
    "row",
    "column",
    "old_raw",
    "new_raw",
    "old_status",
    "new_status",
    "old_section",
    "row_label",
    "column_label",
    "old_links",
    "new_links",
)


class UnknownSource(LookupError):
    """A --source that names no stored source."""


def parse_when(text: str, *, end_of_day: bool = False) -> datetime:
    """An ISO 8601 date or datetime, UTC unless it carries an offset.

    A bare date means the start of that day, or with ``end_of_day`` the start of the next,
    so ``--until 2021-06-01`` includes all of 1 June.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(0), tzinfo=UTC)
            return moment + timedelta(days=1) if end_of_day else moment
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date or datetime") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the database gives UTC already; listings call this a lot
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def entity_matcher(pattern: str) -> Callable[[str, str], bool]:
    """A test on (display name, entity key): a glob on the display name, case-insensitive,
    or else the same normal form ("azure functions" finds "Azure Functions")."""
    if is_glob(pattern):
        folded = pattern.casefold()
        return lambda name, key: fnmatchcase(name.casefold(), folded)
    wanted = normalize(pattern)
    return lambda name, key: key == wanted


def _sources(session: Session, name: str | None) -> list[tuple[int, str]]:
    q = select(Source.id, Source.name).order_by(Source.name)
    if name:
        q = q.where(Source.name == name)
    found = [(int(i), str(n)) for i, n in session.execute(q)]
    if name and not found:
        stored = list(session.scalars(select(Source.name).order_by(Source.name)))
        known = f"known: {', '.join(stored)}" if stored else "no source is stored yet"
        raise UnknownSource(f"no source named {name!r} ({known})")
    return found


def require_source(session: Session, name: str | None) -> None:
    """Raise UnknownSource, naming the stored sources, when ``name`` is none of them: a
    --source with a typo is an error, not an empty answer."""
    if name:
        _sources(session, name)


# --- the change log ------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeFilter:
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


def change_rows(session: Session, f: ChangeFilter = ChangeFilter()) -> list[dict[str, Any]]:
    require_source(session, f.source)
    q = (
        select(ChangeRow, Source.name)
        .join(Source, Source.id == ChangeRow.source_id)
        .where(*_conditions(f))
        .order_by(*_CHANGE_ORDER)
    )
    return [
        change_row(change, source)
        for change, source in session.execute(q)
        if _entity_wanted(f, change)
    ]


# The fields a stored ChangeRow and a freshly computed Change share, by the same names.
CHANGE_BODY = CHANGE_FIELDS[5:]


def change_body(change: object) -> dict[str, Any]:
    body = {name: getattr(change, name) for name in CHANGE_BODY}
    # Arrays of hrefs, empty when the change retargeted nothing (stored as NULL then).
    body["old_links"] = list(body["old_links"] or ())
    body["new_links"] = list(body["new_links"] or ())
    return body


def change_row(c: ChangeRow, source: str) -> dict[str, Any]:
    return {
        "id": c.id,
        "source": source,
        "detected_at": iso(c.detected_at),
        "from_snapshot": c.from_snapshot_id,
        "to_snapshot": c.to_snapshot_id,
        **change_body(c),
    }


# --- export: the change log with its provenance -----------------------------------------

_PROVENANCE = ("sha256", "fetched_at", "origin", "origin_ref", "url")
EXPORT_FIELDS = (
    *CHANGE_FIELDS,
    "source_url",
    *(f"from_{p}" for p in _PROVENANCE),
    *(f"to_{p}" for p in _PROVENANCE),
)
_INT_FIELDS = frozenset({"id", "from_snapshot", "to_snapshot", "snapshot", "change", "records"})
_LIST_FIELDS = frozenset({"old_links", "new_links"})


def export_rows(session: Session, f: ChangeFilter = ChangeFilter()) -> list[dict[str, Any]]:
    """Each change with where both of its snapshots came from: their sha256, the time they
    stand for, how they were obtained (fetch, import, backfill) and the URL, file or commit.
    """
    require_source(session, f.source)
    q = (
        select(ChangeRow, Source.name, Source.url)
        .join(Source, Source.id == ChangeRow.source_id)
        .where(*_conditions(f))
        .order_by(*_CHANGE_ORDER)
    )
    found = [(c, name, url) for c, name, url in session.execute(q) if _entity_wanted(f, c)]
    # Each snapshot once, not once per change: on SQLite, reading a snapshot row's columns
    # means reading past its stored page body.
    wanted = sorted(
        {c.to_snapshot_id for c, _, _ in found}
        | {c.from_snapshot_id for c, _, _ in found if c.from_snapshot_id is not None}
    )
    provenance: dict[int, tuple[Any, ...]] = {}
    for i in range(0, len(wanted), 500):  # bounded IN lists
        pq = select(
            Snapshot.id,
            Snapshot.sha256,
            Snapshot.taken_at,
            Snapshot.origin,
            Snapshot.origin_ref,
            Snapshot.url,
        ).where(Snapshot.id.in_(wanted[i : i + 500]))
        for sid, sha, taken_at, origin, ref, url in session.execute(pq):
            provenance[sid] = (sha, iso(taken_at), origin, ref, url)
    nothing = (None,) * len(_PROVENANCE)
    rows = []
    for change, source, source_url in found:
        row = change_row(change, source)
        row["source_url"] = source_url
        sides: tuple[tuple[str, int | None], ...] = (
            ("from", change.from_snapshot_id),
            ("to", change.to_snapshot_id),
        )
        for prefix, side in sides:
            values = provenance.get(side, nothing) if side is not None else nothing
            for name, value in zip(_PROVENANCE, values, strict=True):
                row[f"{prefix}_{name}"] = value
        rows.append(row)
    return rows


def write_exact_csv(rows: Iterable[dict[str, Any]], fields: Sequence[str], out: TextIO) -> None:
    """CSV that reads back to the same rows: every text value quoted, so an empty text
    (``""``) and a missing value (an empty field) stay apart; numbers bare. Any CSV reader
    (a spreadsheet, Python's csv module) reads it as ordinary CSV."""
    out.write(",".join(fields) + "\n")
    for row in rows:
        cells = []
        for name in fields:
            value = row.get(name)
            if value is None:
                cells.append("")
            elif isinstance(value, int) and not isinstance(value, bool):
                cells.append(str(value))
            elif isinstance(value, list | tuple):  # links: a JSON array of hrefs
                cells.append('"' + json.dumps(list(value)).replace('"', '""') + '"')
            else:
                cells.append('"' + str(value).replace('"', '""') + '"')
        out.write(",".join(cells) + "\n")


def read_exact_csv(text: str) -> list[dict[str, Any]]:
    """The rows ``write_exact_csv`` wrote: quoted fields are text, empty unquoted fields
    are None, id fields are integers."""
    records = _csv_cells(text)
    if not records:
        return []
    header = [name for name, _ in records[0]]
    rows = []
    for cells in records[1:]:
        row: dict[str, Any] = {}
        for name, (value, quoted) in zip(header, cells, strict=True):
            if value == "" and not quoted:
                row[name] = None
            elif name in _INT_FIELDS and not quoted:
                row[name] = int(value)
            elif name in _LIST_FIELDS:
                row[name] = json.loads(value)
            else:
                row[name] = value
        rows.append(row)
    return rows


def _csv_cells(text: str) -> list[list[tuple[str, bool]]]:
    """RFC 4180 records as (value, was it quoted) pairs; the csv module forgets the latter."""
    records: list[list[tuple[str, bool]]] = []
    record: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            parts, j = [], i + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise ValueError("unterminated quoted CSV field")
                parts.append(text[j:k])
                if text.startswith('"', k + 1):
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            record.append(("".join(parts), True))
        else:
            k = i
            while k < n and text[k] not in ",\r\n":
                k += 1
            record.append((text[i:k], False))
            i = k
        if i < n and text[i] == ",":
            i += 1
            if i == n or text[i] in "\r\n":
                record.append(("", False))
            else:
                continue
        if text.startswith("\r\n", i):
            i += 2
        elif i < n:
            i += 1
        records.append(record)
        record = []
    return records


# --- snapshots -----------------------------------------------------------------------

SNAPSHOT_FIELDS = (
    "id",
    "source",
    "fetched_at",
    "sha256",
    "state",
    "origin",
    "origin_ref",
    "doc_date",
    "records",
    "reason",
)


def snapshot_rows(session: Session, source: str | None = None) -> list[dict[str, Any]]:
    require_source(session, source)
    # Columns, not Snapshot objects: an object would load every stored page body.
    q = select(
        Snapshot.id,
        Source.name,
        Snapshot.taken_at,
        Snapshot.sha256,
        Snapshot.state,
        Snapshot.origin,
        Snapshot.origin_ref,
        Snapshot.doc_date,
        Snapshot.record_count,
        Snapshot.reason,
    ).join(Source, Source.id == Snapshot.source_id)
    if source:
        q = q.where(Source.name == source)
    q = q.order_by(Source.name, Snapshot.taken_at, Snapshot.id)
    # Plain rows through the connection: ORM row handling costs more than the query here.
    return [
        {
            "id": sid,
            "source": name,
            "fetched_at": iso(taken_at),
            "sha256": sha,
            "state": state,
            "origin": origin,
            "origin_ref": ref,
            "doc_date": doc_date,
            "records": count,
            "reason": reason,
        }
        for (sid, name, taken_at, sha, state, origin, ref, doc_date, count, reason) in (
            session.connection().execute(q).all()
        )
    ]


def snapshot_body(session: Session, snapshot_id: int) -> bytes | None:
    """The page exactly as it was fetched (or read from a file or a commit)."""
    body = session.scalar(select(Snapshot.body).where(Snapshot.id == snapshot_id))
    return None if body is None else bytes(body)


# --- state: the page as it stood at a moment ------------------------------------------

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
    for source_id, name in _sources(session, source):
        snap = snapshot_at(session, source_id, at)
        if snap is None:
            continue
        snapshot_id, taken_at = snap
        params = {"snapshot_id": snapshot_id, "source_id": source_id, "cutoff": taken_at}
        records = session.execute(state_statement(), params).all()
        if wanted is not None:
            records = [r for r in records if wanted(r.entity, r.entity_key)]
        since = Since(session, source_id, taken_at)
        since.load(r.entity_key for r in records)
        for section, ent, row, column, raw, status, ek, rk, ck, *probed in records:
            rows.append(
                {
                    "section": section,
                    "entity": ent,
                    "row": rk,
                    "column": ck,
                    "raw": raw,
                    "status": status,
                    "since": iso(since.of(section, ek, rk, ck, (probed[0], probed[1], probed[2]))),
                    "snapshot": snapshot_id,
                    "source": name,
                    "row_label": row,
                    "column_label": column,
                }
            )
    return rows


# --- history: each cell's timeline ------------------------------------------------------

HISTORY_FIELDS = (
    "section",
    "entity",
    "row",
    "column",
    "status",
    "raw",
    "since",
    "until",
    "snapshot",
    "change",
    "source",
    "row_label",
    "column_label",
)


def history_rows(
    session: Session,
    entity: str,
    *,
    source: str | None = None,
    row: str | None = None,
    column: str | None = None,
) -> list[dict[str, Any]]:
    """Each cell of the entities ``entity`` names (normal form or glob): its values as
    intervals [since, until) across accepted snapshots, oldest first, each with the
    snapshot that introduced the value and the change that recorded it (None for the
    baseline). A renamed entity's history continues under its newest name."""
    # A row or column given as its key ("usgov") or as the page writes it ("Azure Government").
    rows = {row, canonical_row(row)} if row else None
    columns = {column, canonical_column(column)} if column else None
    out: list[dict[str, Any]] = []
    for source_id, name in _sources(session, source):
        keys = _matching_keys(session, source_id, entity)
        if not keys:
            continue
        intervals, latest = cell_intervals(session, source_id, keys, rows=rows, columns=columns)
        times: dict[datetime | None, str | None] = {None: None}  # an until is the next since
        for iv in intervals:
            section, ent, row_key, column_key, row_label, column_label = latest[iv.cell]
            if rows is not None and row_key not in rows:
                continue
            if columns is not None and column_key not in columns:
                continue
            for moment in (iv.since, iv.until):
                if moment not in times:
                    times[moment] = iso(moment)
            out.append(
                {
                    "section": section,
                    "entity": ent,
                    "row": row_key,
                    "column": column_key,
                    "status": iv.status,
                    "raw": iv.raw,
                    "since": times[iv.since],
                    "until": times[iv.until],
                    "snapshot": iv.snapshot,
                    "change": iv.change,
                    "source": name,
                    "row_label": row_label,
                    "column_label": column_label,
                }
            )
    return out


def _matching_keys(session: Session, source_id: int, pattern: str) -> set[str]:
    if not is_glob(pattern):
        return {normalize(pattern)}
    # Every name the source's entities ever had: those on the latest page, and those of the
    # entities that left it.
    names: set[tuple[str, str]] = set()
    snaps: set[int] = set()
    latest = snapshot_at(session, source_id, None)
    if latest is not None:
        snaps.add(latest[0])
    # An entity not on the latest page left it by a change of its own (removed, renamed,
    # moved: one with no row and no column), or with its section or the page format.
    q = (
        select(ChangeRow.entity, ChangeRow.old_entity)
        .where(ChangeRow.source_id == source_id, ChangeRow.row == "", ChangeRow.column == "")
        .distinct()
    )
    for ent, old in session.execute(q):
        names.update((name, normalize(name)) for name in (ent, old) if name)
    q2 = select(ChangeRow.from_snapshot_id).where(
        ChangeRow.source_id == source_id,
        ChangeRow.entity_key == "",
        ChangeRow.kind.in_(("section_removed", "format_changed")),
    )
    snaps.update(s for s in session.scalars(q2) if s is not None)
    if snaps:
        q3 = (
            select(RecordRow.entity, RecordRow.entity_key)
            .where(RecordRow.snapshot_id.in_(snaps))
            .distinct()
        )
        names.update((e, k) for e, k in session.execute(q3))
    wanted = entity_matcher(pattern)
    return {key for name, key in names if name and wanted(name, key)}
