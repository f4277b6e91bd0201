"""Engine and session factories, and the cheap schema check that runs before every command.

Nothing happens at import time. ``ensure_schema`` reads the Alembic version row with plain
SQL and imports Alembic only when the database is behind: a cron run on an up-to-date
database pays nothing for migrations.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from watcher.storage.connections import POSTGRES_SCHEMES, SCHEMA_HEAD, sqlite_pragmas


def normalize_url(url: str) -> str:
    """Let users write postgresql:// and get the psycopg 3 driver we ship."""
    for prefix in POSTGRES_SCHEMES:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    sqlite_pragmas(dbapi_conn)


def _sqlite_on_begin(conn: Any) -> None:
    # Writers take the write lock up front; two processes never deadlock upgrading a read lock.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except (OperationalError, ProgrammingError):
        return None
    return None if row is None else str(row[0])


def upgrade(engine: Engine) -> None:
    """Run Alembic migrations to head on this engine's database."""
    from alembic import command

    from watcher.storage.migrations.runner import alembic_config

    with engine.begin() as conn:
        cfg = alembic_config(conn)
        command.upgrade(cfg, "head")


def ensure_schema(engine: Engine) -> bool:
    """Migrate to head if needed; returns True when a migration ran."""
    if current_revision(engine) == SCHEMA_HEAD:
        return False
    upgrade(engine)
    return True
