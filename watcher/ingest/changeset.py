"""Write one change set (the typed changes between two accepted snapshots) and queue the
change notifications of every route that wants some of it, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from watcher.config import RouteConfig
from watcher.domain import routes as routing
from watcher.domain.document import Change
from watcher.domain.outcome import Outcome, Result
from watcher.storage import store
from watcher.storage.models import Notification, Snapshot, Source


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
    if notify and changes:
        for route in routes:
            picked = routing.select(route, source.name, changes)
            if not picked:
                continue
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
                    payload={"positions": picked},
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
