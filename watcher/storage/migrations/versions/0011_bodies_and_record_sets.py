"""bodies stored once, compressed; records stored once per distinct set

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 17:00:00

Every snapshot kept its whole body and a row per record (a few hundred per version), even
when a page flipped back to a body stored before. The upgrade moves each distinct body to
``bodies`` (zlib-compressed, by sha256) and each distinct record set to ``record_sets``
(one zlib-compressed JSON blob, by the sha256 of that JSON) with its entity keys in
``record_keys``; snapshots keep their sha256 and gain ``records_id``; ``snapshots.body``
and ``records`` go. The downgrade writes them back from the new tables, byte for byte.

The encoding is spelled out here, as this revision knows it; watcher.storage.records
writes the same bytes (a test stores a migrated page again and finds its set).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_FIELDS = ("section", "entity", "row", "column", "raw", "status",
                 "section_key", "entity_key", "row_key", "column_key")  # fmt: skip
records = sa.table(
    "records",
    sa.column("snapshot_id", sa.Integer),
    sa.column("position", sa.Integer),
    *(sa.column(name, sa.Text) for name in RECORD_FIELDS),
    # As watcher wrote them: no parts or links is SQL NULL, not JSON null.
    sa.column("parts", sa.JSON(none_as_null=True)),
    sa.column("links", sa.JSON(none_as_null=True)),
)
snapshots = sa.table(
    "snapshots",
    sa.column("id", sa.Integer),
    sa.column("sha256", sa.String),
    sa.column("body", sa.LargeBinary),
    sa.column("records_id", sa.Integer),
)
bodies = sa.table(
    "bodies", sa.column("sha256", sa.String), sa.column("size", sa.Integer),
    sa.column("data", sa.LargeBinary),
)  # fmt: skip
record_sets = sa.table(
    "record_sets", sa.column("id", sa.Integer), sa.column("sha256", sa.String),
    sa.column("count", sa.Integer), sa.column("data", sa.LargeBinary),
)  # fmt: skip
record_keys = sa.table(
    "record_keys", sa.column("entity_key", sa.String), sa.column("set_id", sa.Integer)
)
BATCH = 200  # snapshots per round of reads


def _encode(rows: Sequence[Any]) -> bytes:
    """A snapshot's records rows (RECORD_FIELDS, parts, links) as the set's JSON."""
    out = [[*row[:10], [list(p) for p in row[10] or ()], list(row[11] or ())] for row in rows]
    return json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()


def upgrade() -> None:
    op.create_table(
        "bodies",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_bodies")),
    )
    op.create_table(
        "record_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_sets")),
        sa.UniqueConstraint("sha256", name=op.f("uq_record_sets_sha256")),
    )
    op.create_table(
        "record_keys",
        sa.Column("entity_key", sa.Text(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["record_sets.id"],
            name=op.f("fk_record_keys_set_id_record_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("entity_key", "set_id", name=op.f("pk_record_keys")),
        sqlite_with_rowid=False,
    )
    op.add_column("snapshots", sa.Column("records_id", sa.Integer(), nullable=True))
    _move_out(op.get_bind())
    op.drop_index("ix_records_entity_key_snapshot_id", table_name="records")
    op.drop_index("ix_records_snapshot_id_position", table_name="records")
    op.drop_table("records")
    op.execute("ALTER TABLE snapshots DROP COLUMN body")
    op.create_index(
        "ix_snapshots_records_id_source_id_state", "snapshots", ["records_id", "source_id", "state"]
    )


def _move_out(bind: sa.Connection) -> None:
    """Each snapshot's body and records into the new tables, each distinct one once."""
    stored: set[str] = set()
    sets: dict[str, int] = {}
    last = 0
    while True:
        batch = bind.execute(
            sa.select(snapshots.c.id, snapshots.c.sha256, snapshots.c.body)
            .where(snapshots.c.id > last)
            .order_by(snapshots.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for snapshot_id, sha, body in batch:
            if sha not in stored:
                body = bytes(body)
                data = zlib.compress(body, 9)
                bind.execute(sa.insert(bodies).values(sha256=sha, size=len(body), data=data))
                stored.add(sha)
            q = (
                sa.select(*(records.c[n] for n in RECORD_FIELDS), records.c.parts, records.c.links)
                .where(records.c.snapshot_id == snapshot_id)
                .order_by(records.c.position)
            )
            rows = bind.execute(q).all()
            if not rows:
                continue
            encoded = _encode(rows)
            digest = hashlib.sha256(encoded).hexdigest()
            if digest not in sets:
                row = {"sha256": digest, "count": len(rows), "data": zlib.compress(encoded, 9)}
                bind.execute(sa.insert(record_sets).values(row))
                set_id = bind.scalar(
                    sa.select(record_sets.c.id).where(record_sets.c.sha256 == digest)
                )
                keys = sorted({r[7] for r in rows})
                bind.execute(
                    sa.insert(record_keys), [{"entity_key": k, "set_id": set_id} for k in keys]
                )
                assert set_id is not None
                sets[digest] = int(set_id)
            bind.execute(
                sa.update(snapshots)
                .where(snapshots.c.id == snapshot_id)
                .values(records_id=sets[digest])
            )
        last = batch[-1][0]


def downgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section", sa.Text(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("row", sa.Text(), nullable=False),
        sa.Column("column", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("section_key", sa.Text(), nullable=False),
        sa.Column("entity_key", sa.Text(), nullable=False),
        sa.Column("row_key", sa.Text(), nullable=False),
        sa.Column("column_key", sa.Text(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=True),
        sa.Column("links", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["snapshots.id"],
            name=op.f("fk_records_snapshot_id_snapshots"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
    )
    # NOT NULL as before, which SQLite adds to a table only with a default.
    blob = "BYTEA DEFAULT ''" if bind.dialect.name == "postgresql" else "BLOB DEFAULT x''"
    op.execute(f"ALTER TABLE snapshots ADD COLUMN body {blob} NOT NULL")
    _move_back(bind)
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE snapshots ALTER COLUMN body DROP DEFAULT")
    op.create_index("ix_records_snapshot_id_position", "records", ["snapshot_id", "position"])
    op.create_index("ix_records_entity_key_snapshot_id", "records", ["entity_key", "snapshot_id"])
    op.drop_index("ix_snapshots_records_id_source_id_state", table_name="snapshots")
    op.execute("ALTER TABLE snapshots DROP COLUMN records_id")
    op.drop_table("record_keys")
    op.drop_table("record_sets")
    op.drop_table("bodies")


def _move_back(bind: sa.Connection) -> None:
    """Each snapshot's body into its row and its records into rows of their own."""
    cache: dict[int, list[dict[str, Any]]] = {}
    last = 0
    while True:
        batch = bind.execute(
            sa.select(snapshots.c.id, snapshots.c.sha256, snapshots.c.records_id)
            .where(snapshots.c.id > last)
            .order_by(snapshots.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        for snapshot_id, sha, set_id in batch:
            data = bind.scalar(sa.select(bodies.c.data).where(bodies.c.sha256 == sha))
            assert data is not None, f"snapshot {snapshot_id}: no body {sha}"
            body = zlib.decompress(bytes(data))
            bind.execute(
                sa.update(snapshots).where(snapshots.c.id == snapshot_id).values(body=body)
            )
            if set_id is None:
                continue
            if set_id not in cache:
                cache.clear()  # snapshots next to each other share sets; keep one
                blob = bind.scalar(sa.select(record_sets.c.data).where(record_sets.c.id == set_id))
                assert blob is not None, f"snapshot {snapshot_id}: no record set {set_id}"
                cache[set_id] = [
                    {
                        **dict(zip(RECORD_FIELDS, v[:10], strict=True)),
                        "parts": v[10] or None,
                        "links": v[11] or None,
                    }
                    for v in json.loads(zlib.decompress(bytes(blob)))
                ]
            rows = [
                {"snapshot_id": snapshot_id, "position": i, **r}
                for i, r in enumerate(cache[set_id])
            ]
            bind.execute(sa.insert(records), rows)
        last = batch[-1][0]
