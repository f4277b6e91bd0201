"""Read-side queries: the change log, the snapshot list; flat rows ready for output.

Every function returns a list of plain dicts whose keys are the command-line contract's
JSON fields (DESIGN.md), so table, JSON and CSV output share one shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watcher.document import SEVERITY_RANK
from watcher.models import ChangeRow, Snapshot, Source

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
)


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
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class ChangeFilter:
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    entity: str | None = None
    column: str | None = None
    kind: str | None = None
    severity: str | None = None  # the minimum severity shown


def change_rows(session: Session, f: ChangeFilter = ChangeFilter()) -> list[dict[str, Any]]:
    q = select(ChangeRow, Source.name).join(Source, Source.id == ChangeRow.source_id)
    if f.source:
        q = q.where(Source.name == f.source)
    if f.since:
        q = q.where(ChangeRow.detected_at >= f.since)
    if f.until:
        q = q.where(ChangeRow.detected_at < f.until)
    if f.column:
        q = q.where(ChangeRow.column == f.column)
    if f.kind:
        q = q.where(ChangeRow.kind == f.kind)
    if f.severity:
        allowed = [s for s, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[f.severity]]
        q = q.where(ChangeRow.severity.in_(allowed))
    q = q.order_by(ChangeRow.detected_at, ChangeRow.to_snapshot_id, ChangeRow.position)
    rows = []
    pattern = f.entity.casefold() if f.entity else None
    for change, source in session.execute(q):
        if pattern is not None and not any(
            name and fnmatchcase(name.casefold(), pattern)
            for name in (change.entity, change.old_entity)
        ):
            continue
        rows.append(change_row(change, source))
    return rows


def change_row(c: ChangeRow, source: str) -> dict[str, Any]:
    return {
        "id": c.id,
        "source": source,
        "detected_at": iso(c.detected_at),
        "from_snapshot": c.from_snapshot_id,
        "to_snapshot": c.to_snapshot_id,
        "kind": c.kind,
        "severity": c.severity,
        "section": c.section,
        "entity": c.entity,
        "old_entity": c.old_entity,
        "row": c.row,
        "column": c.column,
        "old_raw": c.old_raw,
        "new_raw": c.new_raw,
        "old_status": c.old_status,
        "new_status": c.new_status,
        "old_section": c.old_section,
        "row_label": c.row_label,
        "column_label": c.column_label,
    }


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
    q = select(Snapshot, Source.name).join(Source, Source.id == Snapshot.source_id)
    if source:
        q = q.where(Source.name == source)
    q = q.order_by(Source.name, Snapshot.taken_at, Snapshot.id)
    return [
        {
            "id": s.id,
            "source": name,
            "fetched_at": iso(s.taken_at),
            "sha256": s.sha256,
            "state": s.state,
            "origin": s.origin,
            "origin_ref": s.origin_ref,
            "doc_date": s.doc_date,
            "records": s.record_count,
            "reason": s.reason,
        }
        for s, name in session.execute(q)
    ]
