"""index for the fetch log's latest-first listing across sources (`watcher fetches`)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # One source's fetches are listed through ix_fetches_source_id_started_at already.
    op.create_index("ix_fetches_started_at", "fetches", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_fetches_started_at", table_name="fetches")
