"""Stored snapshots: the listing, a page's stored bytes, and which accepted snapshot stands
for the page at a moment (what ``state`` and ``history`` start from).

Snapshot ids grow with time within a source (history is stored oldest first: ingest
refuses an older page).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.orm import Session

from watcher.audit.sources import UnknownCursor, keyset, require_source
from watcher.domain.times import iso
from watcher.storage import bodies
from watcher.storage.models import Snapshot, Source

SNAPSHOT_FIELDS = (
    "id",
    "source",
    "fetched_at",
    "sha256",
    "state",
    "origin",
    "origin_ref",
    "doc_date",
    "records",
    "reason",
)


def snapshot_rows(
    session: Session, source: str | None = None, *, state: str | None = None
) -> list[dict[str, Any]]:
    """Every stored snapshot of the source (or of all), oldest first by source: the rows of
    ``watcher snapshots``; with ``state``, only those in it (the quarantined ones)."""
    require_source(session, source)
    q = _listing()
    if source:
        q = q.where(Source.name == source)
    if state:
        q = q.where(Snapshot.state == state)
    return _rows(session, q.order_by(Source.name, Snapshot.taken_at, Snapshot.id))


def latest_snapshot_rows(
    session: Session, source: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest ``limit`` rows of ``snapshot_rows`` (of the source, or of all), newest
    first: what a terminal shows."""
    require_source(session, source)
    q = _listing()
    if source:
        q = q.where(Source.name == source)
    return _rows(session, q.order_by(Snapshot.taken_at.desc(), Snapshot.id.desc()).limit(limit))


def snapshot_page(
    session: Session, source: str | None = None, *, after: int | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], int | None]:
    """Up to ``limit`` rows of ``snapshot_rows`` after the snapshot ``after`` (the cursor the
    previous page ended with), and the cursor of the next page (None on the last)."""
    require_source(session, source)
    order = (Source.name, Snapshot.taken_at, Snapshot.id)
    q = _listing()
    if source:
        q = q.where(Source.name == source)
    if after is not None:
        mark = (
            session.connection()
            .execute(select(*order).join(Source).where(Snapshot.id == after))
            .first()
        )
        if mark is None:
            raise UnknownCursor(f"no snapshot {after} to page on from")
        q = q.where(tuple_(*order) > keyset(order, tuple(mark)))
    rows = _rows(session, q.order_by(*order).limit(limit + 1))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1]["id"]
    return rows, None


def snapshot_row(session: Session, snapshot_id: int) -> dict[str, Any] | None:
    """One snapshot as ``watcher snapshots`` lists it, or None when there is none."""
    found = _rows(session, _listing().where(Snapshot.id == snapshot_id))
    return found[0] if found else None


def _listing() -> Select[*tuple[Any, ...]]:
    # Columns, not Snapshot objects: an object would load every stored page body.
    return select(
        Snapshot.id,
        Source.name,
        Snapshot.taken_at,
        Snapshot.sha256,
        Snapshot.state,
        Snapshot.origin,
        Snapshot.origin_ref,
        Snapshot.doc_date,
        Snapshot.record_count,
        Snapshot.reason,
    ).join(Source, Source.id == Snapshot.source_id)


def _rows(session: Session, q: Select[*tuple[Any, ...]]) -> list[dict[str, Any]]:
    # Plain rows through the connection: ORM row handling costs more than the query here.
    return [
        {
            "id": sid,
            "source": name,
            "fetched_at": iso(taken_at),
            "sha256": sha,
            "state": state,
            "origin": origin,
            "origin_ref": ref,
            "doc_date": doc_date,
            "records": count,
            "reason": reason,
        }
        for (sid, name, taken_at, sha, state, origin, ref, doc_date, count, reason) in (
            session.connection().execute(q).all()
        )
    ]


def snapshot_body(session: Session, snapshot_id: int) -> bytes | None:
    """The page exactly as it was fetched (or read from a file or a commit)."""
    sha = session.scalar(select(Snapshot.sha256).where(Snapshot.id == snapshot_id))
    return None if sha is None else bodies.get(session, sha)


def accepted(source_id: int) -> tuple[ColumnElement[bool], ...]:
    """The conditions on snapshots that stand for the page: the source's accepted ones."""
    return (Snapshot.source_id == source_id, Snapshot.state == "accepted")


def snapshot_at(
    session: Session, source_id: int, at: datetime | None
) -> tuple[int, datetime] | None:
    """The latest accepted snapshot taken at or before ``at`` (or the latest of all)."""
    q = select(Snapshot.id, Snapshot.taken_at).where(*accepted(source_id))
    if at is not None:
        q = q.where(Snapshot.taken_at <= at)
    q = q.order_by(Snapshot.taken_at.desc(), Snapshot.id.desc()).limit(1)
    row = session.connection().execute(q).first()
    return None if row is None else (row[0], row[1])


def baseline(session: Session, source_id: int) -> tuple[int, datetime] | None:
    """The source's first accepted snapshot: where every history starts."""
    q = select(Snapshot.id, Snapshot.taken_at).where(*accepted(source_id))
    row = session.connection().execute(q.order_by(Snapshot.taken_at, Snapshot.id).limit(1)).first()
    return None if row is None else (row[0], row[1])
