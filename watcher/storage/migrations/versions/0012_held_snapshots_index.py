"""a partial index of the held (quarantined) snapshots

Every accepted version marks the held snapshots before it as superseded (watcher.ingest.holds
.supersede). No index led with the source and the state, so that update read every snapshot
of the source: 0.6 ms at 1,000 snapshots on PostgreSQL, and a replay's cost grew with its
length. The held snapshots are a handful; this index holds only them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD = "state = 'quarantined'"  # as watcher.storage.models.HELD, frozen with this revision


def upgrade() -> None:
    op.create_index(
        "ix_snapshots_held",
        "snapshots",
        ["source_id", "taken_at", "id"],
        postgresql_where=sa.text(HELD),
        sqlite_where=sa.text(HELD),
    )


def downgrade() -> None:
    op.drop_index("ix_snapshots_held", table_name="snapshots")
