"""notifications: ops topic (repeat spacing) and per-unit delivery results

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode so that SQLite can drop the columns again on downgrade.
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("deliveries", sa.JSON(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_notifications_route_topic_created_at"),
            ["route", "topic", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_route_topic_created_at"))
        batch_op.drop_column("deliveries")
        batch_op.drop_column("topic")
