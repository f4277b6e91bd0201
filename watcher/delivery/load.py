"""Reading a notification's message from the database: an ops notice or a test message from
its payload, a change notification from the change rows its payload names by id, a digest
from the change notifications it covers.

``read`` takes what the message says out of the database, ``render`` makes the message of
it afterwards: a big change set takes seconds to render, and no transaction should be open
meanwhile (on SQLite every transaction holds the write lock). The cells an added or removed
entity carries are read with one query per snapshot and grouped here: a query per change
made a mass addition quadratic.

A change notification is sent whole or not at all: when one of its changes is gone (its
snapshot was deleted), it is ``Unrenderable`` and the dispatcher gives it up, telling the
ops routes, rather than send a team part of what it was queued to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watcher.delivery import digest
from watcher.delivery.render import (
    ChangeSet,
    DigestSet,
    Message,
    render_changes,
    render_digest,
    render_ops,
    render_test,
)
from watcher.domain.describe import Line, describe
from watcher.domain.document import Change, Record
from watcher.domain.times import parse_when
from watcher.storage import store
from watcher.storage.changelog import change_row, provenance
from watcher.storage.models import ChangeRow, Notification, Snapshot, Source

if TYPE_CHECKING:
    from watcher.config import Config

# The changes whose message lists the cells of what they added, or removed.
ADDED = ("entity_added", "section_added")
REMOVED = ("entity_removed", "section_removed")


class Unrenderable(Exception):
    """The notification's data is gone (its snapshot was deleted): it can never be sent."""


def read(session: Session, config: Config, n: Notification) -> ChangeSet | DigestSet | Message:
    """What the notification ``n`` says: an ops notice or a test message rendered already
    (from its payload, at no cost), a change set to ``render`` once the session is closed."""
    if n.kind == "ops":
        return render_ops(
            key=n.idempotency_key,
            event=str(n.payload.get("event", "ops")),
            text=str(n.payload.get("text", "")),
            source=cast(str | None, n.payload.get("source")),
            at=n.created_at,
            route=n.route,
        )
    if n.kind == "test":
        return render_test(key=n.idempotency_key, route=n.route, at=n.created_at)
    if n.kind == digest.KIND:
        return _digest(session, config, n)
    return _change_set(session, config, n)


def render(contents: ChangeSet | DigestSet | Message, key: str) -> Message:
    """Every rendering of what ``read`` returned; ``key`` is the notification's idempotency
    key."""
    if isinstance(contents, Message):
        return contents
    if isinstance(contents, DigestSet):
        return render_digest(contents, key)
    return render_changes(contents, key)


def _digest(session: Session, config: Config, n: Notification) -> DigestSet:
    """A digest: the change sets it covers, each read as it would be on its own (a change
    set whose snapshot is gone makes the digest ``Unrenderable``, like the change set)."""
    sets = []
    for row in digest.covered_rows(session, n):
        try:
            sets.append(_change_set(session, config, row))
        except Unrenderable as exc:
            raise Unrenderable(f"its change set {row.id}: {exc}") from None
    return DigestSet(
        route=n.route,
        schedule=str(n.payload.get("schedule") or ""),
        at=parse_when(str(n.payload["at"])),
        since=parse_when(str(n.payload["since"])) if n.payload.get("since") else None,
        sets=tuple(sets),
    )


def _change_set(session: Session, config: Config, n: Notification) -> ChangeSet:
    if n.to_snapshot_id is None:
        raise Unrenderable("its snapshot no longer exists")
    snapshot = session.get_one(Snapshot, n.to_snapshot_id)
    previous = session.get(Snapshot, n.from_snapshot_id) if n.from_snapshot_id else None
    source = session.get_one(Source, snapshot.source_id)
    ids = {int(i) for i in n.payload.get("changes", [])}
    rows = session.scalars(
        select(ChangeRow)
        .where(ChangeRow.to_snapshot_id == snapshot.id, ChangeRow.id.in_(ids))
        .order_by(ChangeRow.position)
    ).all()
    if not ids:
        raise Unrenderable(f"it names no change of snapshot {snapshot.id}")
    if len(rows) < len(ids):
        gone = len(ids) - len(rows)
        raise Unrenderable(f"{gone} of its {len(ids)} changes of snapshot {snapshot.id} are gone")
    total = session.scalar(
        select(func.count()).select_from(ChangeRow).where(ChangeRow.to_snapshot_id == snapshot.id)
    )
    configured = config.source(source.name)
    return ChangeSet(
        source=source.name,
        route=n.route,
        to_snapshot=snapshot.id,
        taken_at=snapshot.taken_at,
        changes=changes(session, rows, previous),
        from_snapshot=n.from_snapshot_id,
        previous_taken_at=previous.taken_at if previous is not None else None,
        page_url=_page_url(configured.url if configured else None, snapshot.url, source.url),
        page_title=snapshot.title,
        doc_date=snapshot.doc_date,
        total=total,
        log=tuple(change_row(row, source.name) for row in rows),
        from_provenance=provenance(previous) if previous is not None else None,
        to_provenance=provenance(snapshot),
    )


def _page_url(*candidates: str | None) -> str | None:
    """The first web address among the config's, the snapshot's and the source's."""
    return next((u for u in candidates if u and u.startswith(("http://", "https://"))), None)


class _Cells:
    """A snapshot's records in the sections some changes name, read in one query, grouped
    by section and by entity (its key and display name), each in page order."""

    def __init__(self, session: Session, snapshot_id: int, sections: set[str]) -> None:
        self.sections: dict[str, list[Record]] = {}
        self.entities: dict[tuple[str, str, str], list[Record]] = {}
        for r in store.snapshot_records(session, snapshot_id, sections=sections):
            self.sections.setdefault(r.section, []).append(r)
            self.entities.setdefault((r.section, r.entity_key, r.entity), []).append(r)

    def of(self, row: ChangeRow) -> tuple[Record, ...]:
        if row.entity:
            return tuple(self.entities.get((row.section, row.entity_key, row.entity), ()))
        return tuple(self.sections.get(row.section, ()))


def changes(
    session: Session, rows: Sequence[ChangeRow], previous: Snapshot | None
) -> tuple[Change, ...]:
    """Stored changes with the cells of what each added (or removed), so the message can say
    what an added entity or section holds."""
    wanted: dict[int, set[str]] = {}
    for row in rows:
        snapshot_id = _cells_from(row, previous)
        if snapshot_id is not None:
            wanted.setdefault(snapshot_id, set()).add(row.section)
    # One query for each snapshot the cells come from (the new one, the previous one).
    cells = {sid: _Cells(session, sid, sections) for sid, sections in wanted.items()}
    out = []
    for row in rows:
        snapshot_id = _cells_from(row, previous)
        found = cells[snapshot_id].of(row) if snapshot_id is not None else ()
        out.append(store.to_change(row, found))
    return tuple(out)


def _cells_from(row: ChangeRow, previous: Snapshot | None) -> int | None:
    """The snapshot whose records hold the cells a change carries; None if it carries none."""
    if row.kind in ADDED:
        return row.to_snapshot_id
    if row.kind in REMOVED and previous is not None:
        return previous.id
    return None


def section_summaries(session: Session, rows: Sequence[dict[str, Any]]) -> dict[int, Line]:
    """For the section-wide rows of a change log (a section added or removed), the line
    that summarizes the section and lists its entities, by change id (for the terminal:
    nothing cut)."""
    out: dict[int, Line] = {}
    for row in rows:
        if row["kind"] not in ("section_added", "section_removed"):
            continue
        stored = session.get(ChangeRow, row["id"])
        if stored is not None:
            previous = (
                session.get(Snapshot, stored.from_snapshot_id) if stored.from_snapshot_id else None
            )
            out[row["id"]] = describe(changes(session, [stored], previous)[0], cut=False)
    return out
