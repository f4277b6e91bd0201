"""an index of a source's snapshots by state and time

Every accepted version marks the held snapshots before it as superseded (watcher.ingest.holds
.supersede). No index led with the source and the state, so that update read every snapshot
of the source: 0.6 ms at 1,000 snapshots on PostgreSQL, and a replay's cost grew with its
length.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_snapshots_source_id_state_taken_at_id"


def upgrade() -> None:
    op.create_index(NAME, "snapshots", ["source_id", "state", "taken_at", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="snapshots")
