"""Each cell's timeline (``watcher history``): its values as intervals across the accepted
snapshots, as flat rows. The intervals are worked out by watcher.audit.timeline.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watcher.audit.snapshots import snapshot_at
from watcher.audit.sources import entity_matcher, is_glob, sources
from watcher.audit.timeline import cell_intervals
from watcher.domain.known import closest
from watcher.domain.times import iso_stored
from watcher.parse.vocabulary import canonical_column, canonical_row, normalize
from watcher.storage import records
from watcher.storage.models import ChangeRow

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
    for source_id, name in sources(session, source):
        keys = _matching_keys(session, source_id, entity)
        if not keys:
            continue
        intervals, latest = cell_intervals(session, source_id, keys, rows=rows, columns=columns)
        # The cells of the rows and columns asked for, each as the page last showed it.
        shown = {
            cell: display
            for cell, display in latest.items()
            if (rows is None or display[2] in rows) and (columns is None or display[3] in columns)
        }
        times: dict[datetime | None, str | None] = {}  # an until is the next since: once each
        for iv in intervals:
            display = shown.get(iv.cell)
            if display is None:
                continue
            section, ent, row_key, column_key, row_label, column_label = display
            since, until = times.get(iv.since), times.get(iv.until)
            if since is None:
                since = times[iv.since] = iso_stored(iv.since)
            if until is None and iv.until is not None:
                until = times[iv.until] = iso_stored(iv.until)
            out.append(
                {
                    "section": section,
                    "entity": ent,
                    "row": row_key,
                    "column": column_key,
                    "status": iv.status,
                    "raw": iv.raw,
                    "since": since,
                    "until": until,
                    "snapshot": iv.snapshot,
                    "change": iv.change,
                    "source": name,
                    "row_label": row_label,
                    "column_label": column_label,
                }
            )
    return out


def _matching_keys(session: Session, source_id: int, pattern: str) -> set[str]:
    """The entity keys a name or glob finds among every name the source's entities had."""
    if not is_glob(pattern):
        return {normalize(pattern)}
    wanted = entity_matcher(pattern)
    return {key for name, key in entity_names(session, source_id) if wanted(name, key)}


def unknown_entity(
    session: Session,
    pattern: str,
    matches: Callable[[str, str], bool],
    source: str | None = None,
) -> str | None:
    """None when an entity of the source (or of any) ever had a name that ``matches``
    (display name, entity key) finds; else the one line that says so, with the closest
    name: a misspelt entity is told as such, not answered as an entity with no history."""
    names: dict[str, str] = {}  # casefolded: as the page wrote it
    for source_id, _ in sources(session, source):
        for name, key in entity_names(session, source_id):
            if matches(name, key):
                return None
            names.setdefault(name.casefold(), name)
    where = f"the accepted history of {source!r}" if source else "the accepted history"
    if is_glob(pattern):
        # A glob is no misspelt name, and the name closest to its letters is rarely one it
        # meant; but a name of the page may hold a glob's letters ("Azure Foo [preview]"),
        # which as a glob matches no name at all.
        literal = names.get(pattern.casefold())
        hint = (
            f"; [, * and ? are wildcards: {literal_glob(literal)!r} matches {literal!r}"
            if literal is not None
            else ""
        )
        return f"no entity matching {pattern!r} in {where}{hint}"
    # Compared casefolded ("azure functons"), suggested as the page writes it.
    close = closest(pattern.casefold(), names)
    hint = f"; did you mean {names[close]!r}?" if close is not None else ""
    return f"no entity matching {pattern!r} in {where}{hint}"


def literal_glob(name: str) -> str:
    """The glob that matches ``name`` as written: each wildcard letter in brackets."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in name)


def entity_names(session: Session, source_id: int) -> set[tuple[str, str]]:
    """Every (display name, entity key) the source's entities ever had: those on the latest
    page, and those of the entities that left it."""
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
    core = session.connection()  # plain rows, as in watcher.audit.timeline
    for ent, old in core.execute(q).all():
        names.update((name, normalize(name)) for name in (ent, old) if name)
    q2 = select(ChangeRow.from_snapshot_id).where(
        ChangeRow.source_id == source_id,
        ChangeRow.entity_key == "",
        ChangeRow.kind.in_(("section_removed", "format_changed")),
    )
    snaps.update(s for s in session.scalars(q2) if s is not None)
    for found in records.of_snapshots(session, snaps).values():
        names.update((r.entity, r.entity_key) for r in found if r.entity)
    return names
