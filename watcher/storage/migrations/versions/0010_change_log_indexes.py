"""indexes for the change log filtered in the query (`watcher changes`)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER = ["detected_at", "to_snapshot_id", "position"]
# (index name, columns): the log's order alone (the whole log, --since/--until, a page's
# cursor), then each filter ahead of it; old_entity alone, for an --entity glob's names.
INDEXES = [
    ("ix_changes_detected_at_to_snapshot_id_position", ORDER),
    *(
        (f"ix_changes_{lead}_detected_at_to_snapshot_id_position", [lead, *ORDER])
        for lead in ("entity", "column", "kind", "severity")
    ),
    ("ix_changes_old_entity", ["old_entity"]),
]


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "changes", columns)


def downgrade() -> None:
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="changes")
