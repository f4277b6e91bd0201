"""leases for one check at a time on SQLite; indexes for per-entity history

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 06:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_index(
        op.f("ix_records_entity_key_snapshot_id"), "records", ["entity_key", "snapshot_id"]
    )
    op.create_index(
        op.f("ix_changes_entity_key_detected_at"), "changes", ["entity_key", "detected_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_changes_entity_key_detected_at"), table_name="changes")
    op.drop_index(op.f("ix_records_entity_key_snapshot_id"), table_name="records")
    op.drop_table("leases")
