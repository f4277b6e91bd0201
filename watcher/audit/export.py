"""The export for auditors: the change log with the provenance of both snapshots of each
change, and CSV that reads back to the very rows it was written from.

``watcher export`` writes these rows as JSON or as exact CSV (``write_exact_csv``); tests
and auditors read the CSV back with ``read_exact_csv`` or any ordinary CSV reader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from watcher.audit.changes import CHANGE_FIELDS, ChangeFilter, change_row, filtered_changes
from watcher.domain.times import iso
from watcher.storage.changelog import PROVENANCE
from watcher.storage.models import ChangeRow, Snapshot, Source

_PROVENANCE = PROVENANCE
EXPORT_FIELDS = (
    *CHANGE_FIELDS,
    "source_url",
    *(f"from_{p}" for p in _PROVENANCE),
    *(f"to_{p}" for p in _PROVENANCE),
)
# Read back as numbers, and as arrays of hrefs (every listing's id fields are here).
_INT_FIELDS = frozenset({"id", "from_snapshot", "to_snapshot", "snapshot", "change", "records"})
_LIST_FIELDS = frozenset({"old_links", "new_links"})


def export_rows(session: Session, f: ChangeFilter = ChangeFilter()) -> list[dict[str, Any]]:
    """Each change with where both of its snapshots came from: their sha256, the time they
    stand for, how they were obtained (fetch, import, backfill) and the URL, file or commit.
    """
    found = filtered_changes(session, f, Source.url)
    provenance = _provenance(session, [change for change, _, _ in found])
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


def _provenance(session: Session, changes: Sequence[ChangeRow]) -> dict[int, tuple[Any, ...]]:
    """The _PROVENANCE of every snapshot the changes lie between, by snapshot id."""
    # Each snapshot once, not once per change: on SQLite, reading a snapshot row's columns
    # means reading past its stored page body.
    wanted = sorted(
        {c.to_snapshot_id for c in changes}
        | {c.from_snapshot_id for c in changes if c.from_snapshot_id is not None}
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
    return provenance


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
