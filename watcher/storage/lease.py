"""One check of a source at a time, across processes: daemons, cron runs, or both.

PostgreSQL: a session-level advisory lock on a connection held for the whole check. Session-
rather than transaction-scoped because a check spans several transactions (the fetch runs
outside any transaction so no lock is held across the network wait, then the writes commit
in their own); and if the process dies, PostgreSQL drops the lock with its connection.

SQLite has no advisory locks: a row in ``leases`` is claimed under ``BEGIN IMMEDIATE`` (the
write lock makes the read-then-claim atomic) and carries an expiry, so a crashed holder
blocks the source only until its lease runs out.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from watcher.storage.connections import Conn

log = logging.getLogger(__name__)


def new_holder() -> str:
    """A holder id unique to one check: host and pid for people, a nonce so that two checks
    in one process (a catch-up and a tick) exclude each other too."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lock_key(name: str) -> int:
    # A stable signed 64-bit key per source name, the type pg_advisory_lock takes.
    return int.from_bytes(
        hashlib.sha256(f"watcher:{name}".encode()).digest()[:8], "big", signed=True
    )


@contextmanager
def lease(conn: Conn, name: str, ttl: timedelta, holder: str | None = None) -> Iterator[bool]:
    """Yield True if this check holds the lease on ``name`` for the block, else False.

    ``conn`` must stay open for the block: on PostgreSQL it is the lock's session.
    """
    holder = holder or new_holder()
    if conn.dialect == "postgresql":
        with _advisory(conn, name) as held:
            yield held
    else:
        with _lease_row(conn, name, ttl, holder) as held:
            yield held


@contextmanager
def _advisory(conn: Conn, name: str) -> Iterator[bool]:
    key = _lock_key(name)
    row = conn.one("SELECT pg_try_advisory_lock(?)", (key,))
    conn.end_read()
    held = bool(row and row[0])
    try:
        yield held
    finally:
        if held:
            # Closing the connection frees the lock anyway; never fail a finished check.
            try:
                conn.one("SELECT pg_advisory_unlock(?)", (key,))
                conn.end_read()
            except Exception:
                log.exception("could not release the advisory lock on %s", name)


@contextmanager
def _lease_row(conn: Conn, name: str, ttl: timedelta, holder: str) -> Iterator[bool]:
    now = datetime.now(UTC)
    with conn.transaction():
        row = conn.one("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
        expires = conn.stamp(now + ttl)
        if row is not None and row[0] != holder and (Conn.time(row[1]) or now) > now:
            held = False
        elif row is None:
            conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)",
                (name, holder, expires),
            ).close()
            held = True
        else:
            conn.execute(
                "UPDATE leases SET holder = ?, expires_at = ? WHERE name = ?",
                (holder, expires, name),
            ).close()
            held = True
    try:
        yield held
    finally:
        if held:
            # The lease expires anyway; never fail a finished check over releasing it.
            try:
                with conn.transaction():
                    conn.execute(
                        "DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder)
                    ).close()
            except Exception:
                log.exception("could not release the lease on %s", name)
