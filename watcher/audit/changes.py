"""The change log: every stored change, filtered as ``watcher changes`` asks, as flat rows.

Rows are plain dicts whose keys are the command-line contract's JSON fields (DESIGN.md), so
table, JSON and CSV output share one shape, named in watcher.storage.changelog (the webhook
channel sends the same rows). ``change_body`` is the part a stored change and a freshly
computed one (``watcher diff A B``) share. The export with provenance is
watcher.audit.export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import QueryableAttribute, Session

from watcher.audit.sources import require_source
from watcher.domain.document import SEVERITY_RANK

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


def change_rows(session: Session, f: ChangeFilter = ChangeFilter()) -> list[dict[str, Any]]:
    """The change log as ``watcher changes`` lists it."""
    return [change_row(change, source) for change, source in filtered_changes(session, f)]
