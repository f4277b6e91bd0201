"""Plain driver connections to the history database, for the hot path of every check.

A cron ``watcher check`` on an unchanged page must not pay for importing SQLAlchemy (about
as long as the whole check takes otherwise), so the check's lease, its first read and the
unchanged case's writes run here on the DBAPI connection: ``sqlite3`` or ``psycopg``. In the
daemon, where the engine exists anyway, the same code runs on the engine's pooled
connections. The engine and the ORM are built only when a check has more to do.

SQL on a ``Conn`` is written once with ``?`` parameter marks (:meth:`Conn.execute` adapts it
for psycopg): the lease's (watcher.storage.lease), a check's first read and writes
(watcher.storage.checks). What a URL opens, and how, is watcher.storage.dialect's.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from watcher.storage.dialect import Dialect, begin_write, driver_target, redact, sqlite_pragmas
from watcher.storage.migrations import SCHEMA_HEAD, revision

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class Conn:
    """A DBAPI connection and the few things that differ between our two databases."""

    def __init__(self, dbapi: Any, dialect: Dialect) -> None:
        self.dbapi = dbapi
        self.dialect: Dialect = dialect

    @classmethod
    def of_engine(cls, dbapi: Any, dialect_name: str) -> Conn:
        """A driver connection SQLAlchemy opened, by the name of its engine's dialect."""
        return cls(dbapi, "sqlite" if dialect_name == "sqlite" else "postgresql")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        cur = self.dbapi.cursor()
        cur.execute(sql, tuple(params))
        return cur

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        cur = self.execute(sql, params)
        try:
            row = cur.fetchone()
        finally:
            cur.close()
        return None if row is None else tuple(row)

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """One write transaction: committed on success, rolled back on any error."""
        if self.dialect == "sqlite":
            begin_write(self.dbapi)
        try:
            yield self
        except BaseException:
            self.dbapi.rollback()
            raise
        self.dbapi.commit()

    def end_read(self) -> None:
        """Close the implicit read transaction psycopg opens, so none idles over a fetch."""
        if self.dialect == "postgresql":
            self.dbapi.rollback()

    def stamp(self, at: datetime) -> Any:
        """An aware time as the database stores it: naive UTC, text on SQLite (as SQLAlchemy
        writes it, so both paths read each other's rows)."""
        naive = at.astimezone(UTC).replace(tzinfo=None)
        if self.dialect == "sqlite":
            return naive.isoformat(sep=" ", timespec="microseconds")
        return naive

    @staticmethod
    def time(value: Any) -> datetime | None:
        """A stored time read back as aware UTC."""
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


class Database:
    """One database, reached by raw connections now and by an engine only when needed.

    Raw connections come from the engine's pool when there is an engine (the daemon, tests),
    else straight from the driver, kept for reuse by the next check in this process.
    """

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url  # with an engine given, a label only (its password masked)
        self._engine = engine
        self._owns_engine = False
        # Raw connections come from the driver unless an engine was given (the daemon) or
        # the URL is one only SQLAlchemy can open; never from an engine made here later,
        # whose pool the checks' sessions need to themselves.
        self._target = None if engine is not None else driver_target(url)
        self._idle: list[Conn] = []
        self._lock = threading.Lock()

    @classmethod
    def of(cls, target: Database | Engine) -> Database:
        if isinstance(target, Database):
            return target
        return cls(str(target.url), target)  # the URL is only a label when there is an engine

    @property
    def engine(self) -> Engine:
        with self._lock:  # checks on several threads may all need it at once
            if self._engine is None:
                from watcher.storage.engine import make_engine

                self._engine = make_engine(self.url)
                self._owns_engine = True
            return self._engine

    @property
    def direct(self) -> bool:
        """True when raw connections come straight from the driver, not the engine's pool."""
        return self._target is not None

    @contextmanager
    def raw(self) -> Iterator[Conn]:
        direct = self._target
        if direct is None:
            fairy = self.engine.raw_connection()
            try:
                yield Conn.of_engine(fairy.dbapi_connection, self.engine.dialect.name)
            finally:
                fairy.close()
            return
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = _connect(*direct)
        try:
            yield conn
        except BaseException:
            conn.dbapi.close()
            raise
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.dbapi.close()
        if self._engine is not None and self._owns_engine:
            self._engine.dispose()


def _connect(dialect: Dialect, target: str) -> Conn:
    if dialect == "sqlite":
        import sqlite3

        dbapi: Any = sqlite3.connect(target, timeout=30, check_same_thread=False)
        sqlite_pragmas(dbapi)
        return Conn(dbapi, "sqlite")
    import psycopg

    try:
        return Conn(psycopg.connect(target), "postgresql")
    except psycopg.Error as exc:
        # libpq quotes a malformed URL back whole, password included: never pass that on.
        message = redact(str(exc), url=target)
    raise ConnectionError(message)


def schema_current(conn: Conn) -> bool:
    """True when the database is migrated to this code's head (False if it has no schema)."""
    return revision(conn.dbapi) == SCHEMA_HEAD


def outbox_idle(conn: Conn) -> bool:
    """True when no notification waits to be sent (or is being sent): dispatch would idle."""
    try:
        row = conn.one("SELECT 1 FROM notifications WHERE state IN ('pending', 'sending') LIMIT 1")
    finally:
        conn.end_read()
    return row is None
