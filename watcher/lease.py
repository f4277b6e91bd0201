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
from datetime import timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from watcher.models import Lease, utcnow

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
def lease(engine: Engine, name: str, ttl: timedelta, holder: str | None = None) -> Iterator[bool]:
    """Yield True if this check holds the lease on ``name`` for the block, else False."""
    holder = holder or new_holder()
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name) as held:
            yield held
    else:
        with _lease_row(engine, name, ttl, holder) as held:
            yield held


@contextmanager
def _advisory(engine: Engine, name: str) -> Iterator[bool]:
    key = _lock_key(name)
    with engine.connect() as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                # Closing the connection frees the lock anyway; never fail a finished check.
                try:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
                except Exception:
                    log.exception("could not release the advisory lock on %s", name)


@contextmanager
def _lease_row(engine: Engine, name: str, ttl: timedelta, holder: str) -> Iterator[bool]:
    with Session(engine) as session, session.begin():
        now = utcnow()
        current = session.get(Lease, name)
        if current is not None and current.expires_at > now and current.holder != holder:
            held = False
        else:
            if current is None:
                session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
            else:
                current.holder, current.expires_at = holder, now + ttl
            held = True
    try:
        yield held
    finally:
        if held:
            # The lease expires anyway; never fail a finished check over releasing it.
            try:
                with Session(engine) as session, session.begin():
                    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
            except Exception:
                log.exception("could not release the lease on %s", name)


def holder_of(engine: Engine, name: str) -> str | None:
    """Who holds the SQLite lease row now (for messages); None on PostgreSQL or if free."""
    if engine.dialect.name == "postgresql":
        return None
    with Session(engine) as session:
        row = session.scalars(select(Lease).where(Lease.name == name)).first()
        return row.holder if row is not None and row.expires_at > utcnow() else None
