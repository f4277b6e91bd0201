"""notifications: a change notification names its changes by id, not by position

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00

A change notification's payload was ``{"positions": [...]}``, positions in the change set of
its snapshot pair; it becomes ``{"changes": [...]}``, the ids of those change rows, for every
notification whatever its state. A position with no row left (its snapshot was deleted) is
dropped, as the dispatcher dropped it. For a notification sent before a reparse replaced
its pair's rows, the ids are those of the rows at its positions now: the best the old
payload can say. The downgrade maps ids back to positions the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The two tables as this revision knows them, whatever the models say later.
notifications = sa.table(
    "notifications",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("to_snapshot_id", sa.Integer),
    sa.column("payload", sa.JSON),
)
changes = sa.table(
    "changes",
    sa.column("id", sa.Integer),
    sa.column("to_snapshot_id", sa.Integer),
    sa.column("position", sa.Integer),
)


def _convert(
    old_key: str, new_key: str, mapping: Callable[[dict[int, int]], dict[int, int]]
) -> None:
    """Rewrite each change notification's ``old_key`` list as a ``new_key`` list through
    its change set's {position: id} table (or the mapping made of it)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(notifications.c.id, notifications.c.to_snapshot_id, notifications.c.payload)
        .where(notifications.c.kind == "changes")
        .order_by(notifications.c.id)
    ).all()
    tables: dict[int, dict[int, int]] = {}
    for nid, to_snapshot, payload in rows:
        payload = dict(payload or {})
        if new_key in payload and old_key not in payload:
            continue  # already in the new form
        found: dict[int, int] = {}
        if to_snapshot is not None:
            if to_snapshot not in tables:
                q = sa.select(changes.c.position, changes.c.id).where(
                    changes.c.to_snapshot_id == to_snapshot
                )
                tables[to_snapshot] = {int(p): int(i) for p, i in bind.execute(q)}
            found = mapping(tables[to_snapshot])
        values: list[Any] = payload.pop(old_key, [])
        payload[new_key] = [found[int(v)] for v in values if int(v) in found]
        bind.execute(
            sa.update(notifications).where(notifications.c.id == nid).values(payload=payload)
        )


def upgrade() -> None:
    _convert("positions", "changes", lambda by_position: by_position)


def downgrade() -> None:
    _convert("changes", "positions", lambda by_position: {i: p for p, i in by_position.items()})
