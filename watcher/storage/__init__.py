"""Storage: the database behind the history, on SQLite or PostgreSQL.

Holds the SQLAlchemy 2.0 typed models (``models``), engines and sessions (``engine``),
driver connections without SQLAlchemy for the lean cron path (``connections``), what
differs between the two databases and the one redactor (``dialect``), a check's first read
and last writes in plain SQL, shared by both paths (``checks``), the per-source lease that
keeps two checks of one source apart (``lease``), the reads and writes on a session
(``store``) and the Alembic migrations (``migrations/``).

May import: ``watcher.domain`` and ``watcher.parse`` (a stored page is re-read with the
current parser). Never the config, ingest, delivery, audit or the command line.
"""
