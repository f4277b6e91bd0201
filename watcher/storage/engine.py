"""Engine and session factories, and the cheap schema check that runs before every command.

Nothing happens at import time. ``ensure_schema`` reads the Alembic version row with plain
SQL (watcher.storage.migrations.revision) and imports Alembic only when the database is
behind: a cron run on an up-to-date database pays nothing for migrations.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from watcher.storage.dialect import BEGIN_WRITE, sqlalchemy_url, sqlite_pragmas
from watcher.storage.migrations import SCHEMA_HEAD, revision


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = sqlalchemy_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    sqlite_pragmas(dbapi_conn)


def _sqlite_on_begin(conn: Any) -> None:
    # Through SQLAlchemy, not on the driver: a locked database is then its OperationalError
    # (a DBAPIError), which the import and the command line tell as such.
    conn.exec_driver_sql(BEGIN_WRITE)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def current_revision(engine: Engine) -> str | None:
    """The migration the engine's database is at; None when it has no schema yet."""
    fairy = engine.raw_connection()
    try:
        return revision(fairy.dbapi_connection)
    finally:
        fairy.close()


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
