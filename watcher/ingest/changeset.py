"""Write one change set (the typed changes between two accepted snapshots) and queue the
change notifications of every route that wants some of it, in the caller's transaction.

A notification carries the ids of the change rows it reports (``payload={"changes": [id,
...]}``), not their positions in the set: `watcher reparse` may replace a set's rows while
a notification waits, and then points it at the new rows (see ``watcher.ingest.reparse``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watcher.domain import routes as routing
from watcher.domain.document import SEVERITY_RANK, Change
from watcher.domain.outcome import Outcome, Result
from watcher.storage import store
from watcher.storage.models import ChangeRow, Notification, Snapshot, Source

if TYPE_CHECKING:
    from watcher.config import RouteConfig


def record_changes(
    session: Session,
    source: Source,
    previous: Snapshot | None,
    snapshot: Snapshot,
    changes: Sequence[Change],
    routes: Sequence[RouteConfig],
    notify: bool,
) -> Outcome:
    from_id = previous.id if previous is not None else None
    store.add_changes(session, source.id, from_id, snapshot.id, snapshot.taken_at, changes)
    queued: list[str] = []
    ids: list[int] | None = None
    if notify and changes:
        for route in routes:
            picked = routing.select(route, source.name, changes)
            if not picked:
                continue
            ids = ids if ids is not None else change_ids(session, snapshot.id)
            added = store.queue_notification(
                session,
                Notification(
                    idempotency_key=f"changes:{route.name}:{from_id}:{snapshot.id}",
                    route=route.name,
                    channel=route.channel,
                    kind="changes",
                    source_id=source.id,
                    from_snapshot_id=from_id,
                    to_snapshot_id=snapshot.id,
                    payload=payload(ids, picked, changes),
                ),
            )
            if added:
                queued.append(route.name)
    result: Result = "changed" if changes else "unchanged"
    return Outcome(
        source.name,
        result,
        snapshot.id,
        len(changes),
        len(queued),
        from_snapshot_id=from_id,
        queued_routes=tuple(queued),
        change_list=tuple(changes),
    )


def change_ids(session: Session, to_snapshot_id: int) -> list[int]:
    """The ids of a change set's rows, in the set's order (by position)."""
    return list(
        session.scalars(
            select(ChangeRow.id)
            .where(ChangeRow.to_snapshot_id == to_snapshot_id)
            .order_by(ChangeRow.position)
        )
    )


def payload(
    ids: Sequence[int], picked: Sequence[int], changes: Sequence[Change] = ()
) -> dict[str, Any]:
    """A change notification's payload: the ids of the changes a route picked (by their
    positions in the set, as ``watcher.domain.routes.select`` gives them), and the worst
    severity among them (what a route's ``quiet_hours_bypass`` is decided on, in SQL)."""
    worst = max((changes[i].severity for i in picked), key=SEVERITY_RANK.__getitem__, default=None)
    return {"changes": [ids[i] for i in picked], **({"severity": worst} if worst else {})}
