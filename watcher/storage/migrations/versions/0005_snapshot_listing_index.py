"""covering index for the snapshot listing (`watcher snapshots`)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 12:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in watcher.storage.models.LISTING_COLUMNS when this migration was written; a migration keeps
# its own copy so that later model changes do not rewrite history.
COLUMNS = [
    "source_id",
    "taken_at",
    "id",
    "sha256",
    "state",
    "origin",
    "origin_ref",
    "doc_date",
    "record_count",
    "reason",
]


def upgrade() -> None:
    op.create_index("ix_snapshots_listing", "snapshots", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_snapshots_listing", table_name="snapshots")
