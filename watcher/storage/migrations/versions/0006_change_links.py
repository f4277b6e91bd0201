"""changes: the link targets a documentation retarget (link_changed) points at

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode so that SQLite can drop the columns again on downgrade.
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("old_links", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("new_links", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_column("new_links")
        batch_op.drop_column("old_links")
