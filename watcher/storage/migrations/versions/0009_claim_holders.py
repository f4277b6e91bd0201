"""who holds a claim: a lease's start, a notification claim's holder and time; an index for
in-order delivery per route and source

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 03:00:00

``leases.since`` lets a skipped check say since when another holds the source;
``notifications.claimed_by`` (host, pid, process start) and ``claimed_at`` let a dispatcher
take over a ``sending`` row whose claimer is gone, and `watcher notifications` say since when
a row is stuck. The index serves the "no older unsettled row for this route and source" test
that keeps a source's change sets in order.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.add_column(sa.Column("since", sa.DateTime(), nullable=True))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
    op.create_index(
        "ix_notifications_route_source_id_state", "notifications", ["route", "source_id", "state"]
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_route_source_id_state", table_name="notifications")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("since")
