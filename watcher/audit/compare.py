"""Ad-hoc diff of any two stored snapshots (``watcher diff A B``), in the change log's shape."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from watcher.audit.changes import change_body
from watcher.domain.diff import diff
from watcher.domain.times import iso
from watcher.storage import store
from watcher.storage.models import Snapshot


class NoSuchSnapshot(LookupError):
    pass


def diff_rows(session: Session, old_id: int, new_id: int) -> list[dict[str, Any]]:
    snaps = []
    for snapshot_id in (old_id, new_id):
        snap = session.get(Snapshot, snapshot_id)
        if snap is None:
            raise NoSuchSnapshot(f"no snapshot {snapshot_id}")
        snaps.append(snap)
    old, new = snaps
    changes = diff(store.load_document(session, old), store.load_document(session, new))
    return [
        {
            "id": None,
            "source": new.source.name,
            "detected_at": iso(new.taken_at),
            "from_snapshot": old.id,
            "to_snapshot": new.id,
            **change_body(c),
        }
        for c in changes
    ]
