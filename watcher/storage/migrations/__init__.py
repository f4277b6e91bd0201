"""Alembic migrations, shipped inside the package so an installed watcher can migrate itself.

``SCHEMA_HEAD`` names the newest of them and ``revision`` is the one look at where a database
stands: plain SQL on a driver connection, so neither a cron check nor the engine imports
Alembic (watcher.storage.migrations.runner) unless the database is behind.
"""

from __future__ import annotations

from typing import Any

# The newest migration in versions/; a test keeps the two in step.
SCHEMA_HEAD = "0012"


def revision(dbapi_conn: Any) -> str | None:
    """The migration the database is at, read on a driver connection (sqlite3 or psycopg);
    None when it has no schema yet. Leaves no transaction open."""
    try:
        cur = dbapi_conn.cursor()
        try:
            cur.execute("SELECT version_num FROM alembic_version")
            row = cur.fetchone()
        finally:
            cur.close()
    except Exception:  # noqa: BLE001 - no table yet, whatever the driver calls that
        row = None
    finally:
        # Ends psycopg's implicit read transaction (or the one the missing table aborted).
        dbapi_conn.rollback()
    return None if row is None else str(row[0])
