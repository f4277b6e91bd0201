"""Reading a notification's message from the database: an ops notice or a test message from
its payload, a change notification from the change rows its payload names by id.

A change notification is sent whole or not at all: when one of its changes is gone (its
snapshot was deleted), it is ``Unrenderable`` and the dispatcher gives it up, telling the
ops routes, rather than send a team part of what it was queued to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watcher.config import Config
from watcher.delivery.render import ChangeSet, Message, render_changes, render_ops, render_test
from watcher.domain.describe import Line, describe
from watcher.domain.document import Change, Record
from watcher.storage import store
from watcher.storage.changelog import change_row, provenance
from watcher.storage.models import ChangeRow, Notification, Snapshot, Source


class Unrenderable(Exception):
    """The notification's data is gone (its snapshot was deleted): it can never be sent."""


def message(session: Session, config: Config, n: Notification) -> Message:
    """Every rendering of the notification ``n``."""
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
    return render_changes(_change_set(session, config, n), n.idempotency_key)


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
        changes=tuple(_change(session, row, previous) for row in rows),
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


def _change(session: Session, row: ChangeRow, previous: Snapshot | None) -> Change:
    """A stored change with the cells of what it added (or removed), so the message can
    say what an added entity or section holds."""
    cells: tuple[Record, ...] = ()
    entity = (row.entity_key, row.entity) if row.entity else None
    if row.kind in ("entity_added", "section_added"):
        cells = store.snapshot_records(
            session, row.to_snapshot_id, section=row.section, entity=entity
        )
    elif row.kind in ("entity_removed", "section_removed") and previous is not None:
        cells = store.snapshot_records(session, previous.id, section=row.section, entity=entity)
    return store.to_change(row, cells)


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
            out[row["id"]] = describe(_change(session, stored, previous), cut=False)
    return out
