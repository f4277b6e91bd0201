"""Page bodies, stored once each: addressed by the sha256 of their bytes, zlib-compressed.

A snapshot names its body by sha256 (``snapshots.sha256``), so a page that flips between
two versions (a stale CDN node) stores two bodies however many snapshots it makes.

Why zlib and not zstd: zlib is in the standard library of every Python watcher runs on
(zstd is only in Python 3.14's ``compression.zstd``, else the ``zstandard`` package, a
compiled dependency for every install), and zstd would save little here. Measured on the
six English and status-page versions (120,708 bytes): zlib level 9 stores 19,450 bytes,
zstd -19 18,899 (3% less) and zstd -3 21,901 (more); their record sets (373,870 bytes of
JSON) 22,361 with zlib 9, 20,890 with zstd -19. A page decompresses in 14-28 µs and
compresses at level 9 in 0.1-0.7 ms, once, when it is first stored.
"""

from __future__ import annotations

import zlib
from typing import Any

from sqlalchemy import Connection, Insert, Table, select
from sqlalchemy.orm import Session

from watcher.storage.models import Base, Body

# The best ratio: a body is compressed once, when first stored, and kept far longer than
# it takes (at most 0.7 ms on the real pages; level 6 saves 1% less).
LEVEL = 9
_BODIES = Base.metadata.tables["bodies"]


def compress(body: bytes, level: int = LEVEL) -> bytes:
    return zlib.compress(body, level)


def decompress(data: bytes) -> bytes:
    return zlib.decompress(data)


def insert_new(conn: Connection, table: Table, values: dict[str, Any]) -> Insert:
    """INSERT of a content-addressed row that does nothing when its sha256 is stored
    already, by this transaction or a concurrent one (which would make a plain insert fail
    the whole check). Core on the connection: the ORM's insert costs more than the write."""
    # The dialect's own insert, imported for the dialect in use: PostgreSQL's module alone
    # took 16-18 ms of every SQLite command's start-up that stores or reads a body.
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect
    else:
        from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
    insert = dialect.insert(table).values(values)
    return insert.on_conflict_do_nothing(index_elements=["sha256"])


def put(session: Session, sha256: str, body: bytes, data: bytes | None = None) -> None:
    """Store ``body`` under its sha256 unless it is stored already; ``data`` is
    ``compress(body)`` when the caller made it already. One statement: a new page is the
    common case, and compressing a known one again costs less than asking."""
    values = {"sha256": sha256, "size": len(body), "data": data or compress(body)}
    conn = session.connection()
    conn.execute(insert_new(conn, _BODIES, values))


def read(session: Session, sha256: str) -> bytes | None:
    """The body with this sha256, as it was fetched; None when none is stored."""
    data = session.scalar(select(Body.data).where(Body.sha256 == sha256))
    return None if data is None else decompress(bytes(data))


def get(session: Session, sha256: str) -> bytes:
    """The body with this sha256, which a stored snapshot names (a LookupError if it is
    missing: a database that lost a body, never a state watcher leaves)."""
    body = read(session, sha256)
    if body is None:
        raise LookupError(f"no stored body with sha256 {sha256}")
    return body
