"""Alembic environment: uses an injected connection, else the database watcher is configured for."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection, Engine

from watcher.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # pytest-alembic hands its own hook here to check the models match the migrations.
        process_revision_directives=config.attributes.get("process_revision_directives"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    injected = config.attributes.get("connection")
    if isinstance(injected, Engine):  # pytest-alembic hands over an Engine
        with injected.begin() as connection:
            _run(connection)
        return
    if injected is not None:
        _run(injected)
        return
    from watcher.config import resolve
    from watcher.storage.engine import make_engine

    url = config.get_main_option("sqlalchemy.url") or resolve(None, None).database_url
    engine = make_engine(url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("watcher's migrations run online only: use `watcher db upgrade`")
run_migrations_online()
