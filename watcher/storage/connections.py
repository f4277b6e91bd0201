"""Plain driver connections to the history database, for the hot path of every check.

A cron ``watcher check`` on an unchanged page must not pay for importing SQLAlchemy (about
as long as the whole check takes otherwise), so the check's lease, its first read and the
unchanged case's writes run here on the DBAPI connection: ``sqlite3`` or ``psycopg``. In the
daemon, where the engine exists anyway, the same code runs on the engine's pooled
connections. The engine and the ORM are built only when a check has more to do.

SQL here is written once with ``?`` parameter marks; :meth:`Conn.execute` adapts it for psycopg.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# The newest migration in watcher/storage/migrations/versions; a test keeps the two in step.
SCHEMA_HEAD = "0007"

# The databases watcher ships drivers for: the standard library's sqlite3 and psycopg 3.
POSTGRES_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")
DATABASE_SCHEMES = ("sqlite://", "sqlite+pysqlite://", *POSTGRES_SCHEMES)


def url_problem(url: str) -> str | None:
    """Why ``url`` is no database watcher can open, in a phrase that never repeats what
    stands before an ``@`` (a password), or None when it may be one."""
    if "://" not in url:
        return (
            "not a database URL (a SQLite file is sqlite:///PATH, a server "
            "postgresql://USER@HOST/DBNAME)"
        )
    if not url.startswith(DATABASE_SCHEMES):
        scheme = url.split("://", 1)[0]
        return (
            f"{scheme!r} is not a database watcher speaks: use sqlite:///PATH or "
            "postgresql://USER@HOST/DBNAME"
        )
    return None


Dialect = Literal["sqlite", "postgresql"]


def sqlite_pragmas(dbapi_conn: Any) -> None:
    """What every SQLite connection of ours needs, whoever opened it."""
    # Transactions begin when we say (BEGIN IMMEDIATE), not when the sqlite3 module guesses.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # In-memory databases refuse WAL; that is fine.
    with contextlib.suppress(Exception):
        cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


class Conn:
    """A DBAPI connection and the few things that differ between our two databases."""

    def __init__(self, dbapi: Any, dialect: Dialect) -> None:
        self.dbapi = dbapi
        self.dialect: Dialect = dialect

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
            # Take the write lock up front, as the engine does (watcher.db).
            self.dbapi.execute("BEGIN IMMEDIATE")
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


def _direct(url: str) -> tuple[Dialect, str] | None:
    """The driver and its target for a URL we can open without SQLAlchemy, else None."""
    for prefix in POSTGRES_SCHEMES:
        if url.startswith(prefix):
            return "postgresql", "postgresql://" + url.removeprefix(prefix)
    if url.startswith("sqlite:///") and "?" not in url:
        path = unquote(url.removeprefix("sqlite:///"))
        # In-memory databases live in one connection: only the engine's pool can share one.
        if path and path != ":memory:":
            return "sqlite", path
    return None


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
        self._target = None if engine is not None else _direct(url)
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
            sqlite = self.engine.dialect.name == "sqlite"
            try:
                dialect: Dialect = "sqlite" if sqlite else "postgresql"
                yield Conn(fairy.dbapi_connection, dialect)
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
        message = without_password(str(exc), target)
    raise ConnectionError(message)


def without_password(text: str, url: str) -> str:
    """``text`` with the password of ``url`` masked, however the URL is malformed.

    Plain string work, no URL parser that could raise: the password is everything between
    the first ``:`` of the user part and its last ``@``. A password with an unescaped ``@``
    or ``:`` is cut differently by libpq, so each longer piece of it is masked on its own
    too (short pieces would mask ordinary words).
    """
    authority = url.partition("://")[2].partition("/")[0]
    userinfo, at, _ = authority.rpartition("@")
    _, colon, password = userinfo.partition(":")
    if not (at and colon and password):
        return text
    pieces = {password, unquote(password)}
    pieces |= {p for p in re.split(r"[@:]", password) if len(p) >= 4}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text


def schema_current(conn: Conn) -> bool:
    """True when the database is migrated to this code's head (False if it has no schema)."""
    try:
        row = conn.one("SELECT version_num FROM alembic_version")
    except Exception:  # noqa: BLE001 - no table yet, whatever the driver calls that
        conn.dbapi.rollback()
        return False
    finally:
        conn.end_read()
    return row is not None and row[0] == SCHEMA_HEAD


def outbox_idle(conn: Conn) -> bool:
    """True when no notification waits to be sent (or is being sent): dispatch would idle."""
    try:
        row = conn.one("SELECT 1 FROM notifications WHERE state IN ('pending', 'sending') LIMIT 1")
    finally:
        conn.end_read()
    return row is None
