"""Engine and session factories, and the cheap schema check that runs before every command.

Sessions that write begin with the SQLite write lock taken (dialect.BEGIN_WRITE). Sessions
that only read (``read_session_factory``, what listing commands use) begin deferred, a WAL
snapshot that waits for no writer, and on PostgreSQL as READ ONLY transactions, so a read
that would write fails at once instead of writing.

Nothing happens at import time. ``ensure_schema`` reads the Alembic version row with plain
SQL (watcher.storage.migrations.revision) and imports Alembic only when the database is
behind: a cron run on an up-to-date database pays nothing for migrations.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from watcher.storage.dialect import BEGIN_READ, BEGIN_WRITE, sqlalchemy_url, sqlite_pragmas
from watcher.storage.migrations import SCHEMA_HEAD, revision

# The execution option that marks an engine's connections as readers (read_session_factory).
READ_ONLY = "watcher_read_only"


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "begin", _postgres_on_begin)
    return engine


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    sqlite_pragmas(dbapi_conn)


def _sqlite_on_begin(conn: Connection) -> None:
    # Through SQLAlchemy, not on the driver: a locked database is then its OperationalError
    # (a DBAPIError), which the import and the command line tell as such.
    conn.exec_driver_sql(BEGIN_READ if _reads_only(conn) else BEGIN_WRITE)


def _postgres_on_begin(conn: Connection) -> None:
    # MVCC never makes a reader wait for a writer; READ ONLY makes sure a reader never writes.
    if _reads_only(conn):
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")


def _reads_only(conn: Connection) -> bool:
    return bool(conn.get_execution_options().get(READ_ONLY, False))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def one_connection(sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """These sessions on one connection held for the block, each still its own transaction.

    For a run of short transactions (an import's, one a file): each would check a connection
    out of the pool and, on PostgreSQL, ping it first (pool_pre_ping, a round trip: 0.5 ms
    of a replayed version's 10)."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        yield sessions  # bound to a connection already
        return
    with bind.connect() as conn:
        # On a connection outside a transaction, a session's begin() begins one and its
        # commit commits it: the same transactions as on the engine.
        yield sessionmaker(class_=sessions.class_, **{**sessions.kw, "bind": conn})


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that only read, on the same pool: a busy SQLite writer never holds them up."""
    return sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)


def current_revision(engine: Engine) -> str | None:
    """The migration the engine's database is at; None when it has no schema yet."""
    fairy = engine.raw_connection()
    try:
        return revision(fairy.dbapi_connection)
    finally:
        fairy.close()


# The PostgreSQL advisory lock a schema upgrade holds: one key for all of watcher's
# upgrades (advisory locks are per database, so other databases on the server are not held up).
UPGRADE_LOCK = 0x77617463  # "watc"


def upgrade(engine: Engine) -> bool:
    """Run Alembic migrations to head on this engine's database, one process at a time;
    returns True when this call migrated it (False when another process had, meanwhile).

    The upgrade is one transaction that first takes a lock every other upgrade waits for:
    on SQLite the write lock (its BEGIN IMMEDIATE), on PostgreSQL a transaction-level
    advisory lock, released by the commit or the rollback (or the death of the process),
    so it can never outlive the upgrade on a pooled connection. Once it holds the lock it
    reads the revision again: instances started together on a fresh database then migrate
    one after the other instead of racing to create the same tables.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from watcher.storage.migrations.runner import alembic_config

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK})")
        if MigrationContext.configure(conn).get_current_revision() == SCHEMA_HEAD:
            return False
        command.upgrade(alembic_config(conn), "head")
    return True


def ensure_schema(engine: Engine) -> bool:
    """Migrate to head if needed; returns True when this process ran a migration."""
    if current_revision(engine) == SCHEMA_HEAD:
        return False
    return upgrade(engine)
