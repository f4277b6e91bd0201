"""index for one cell's changes in order (state at a date, history)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 08:06:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_changes_source_id_entity_key_row_column_detected_at"),
        "changes",
        ["source_id", "entity_key", "row", "column", "detected_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_changes_source_id_entity_key_row_column_detected_at"), table_name="changes"
    )
