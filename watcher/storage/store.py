"""Queries and writes on the history database; every function takes the Session to use.

The caller owns the transaction: a check writes its snapshot, records, changes and outbox
rows through these functions inside one ``session.begin()`` block.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from watcher.domain.document import Change, ChangeKind, Document, Record, Severity, Status
from watcher.domain.times import utcnow
from watcher.storage import bodies, checks, records
from watcher.storage.connections import Conn
from watcher.storage.models import Base, ChangeRow, Notification, Snapshot, Source

# The Core tables, for executemany inserts that skip the ORM's unit of work.
CHANGES = Base.metadata.tables["changes"]
# Spelled once: ``Status | None`` inside a cast builds a typing Union on every call, a
# tenth of the time it takes to read a 20,000-change set.
_MaybeStatus = Status | None


def get_source(session: Session, name: str, *, for_update: bool = False) -> Source | None:
    """The source named ``name``; ``for_update`` locks its row until the transaction ends
    (PostgreSQL; SQLite's write transaction is already exclusive)."""
    q = select(Source).where(Source.name == name)
    return session.scalars(q.with_for_update() if for_update else q).first()


def get_or_create_source(session: Session, name: str, url: str, fmt: str) -> Source:
    source = get_source(session, name)
    if source is None:
        source = Source(name=name, url=url, format=fmt)
        session.add(source)
        session.flush()
    elif source.url != url or source.format != fmt:
        # The config is the truth for where a source lives; history stays attached to the name.
        source.url, source.format = url, fmt
    return source


def latest_snapshot(
    session: Session, source_id: int, *, state: str | None = None
) -> Snapshot | None:
    """The source's newest snapshot in ``state``; any state but rejected when None (a
    rejected snapshot is kept for the audit, out of the line of versions)."""
    q = select(Snapshot).where(Snapshot.source_id == source_id)
    if state is not None:
        q = q.where(Snapshot.state == state)
    else:
        q = q.where(Snapshot.state != "rejected")
    # LIMIT 1 in SQL: Result.first() alone would fetch every snapshot of the source.
    return session.scalars(
        q.order_by(Snapshot.taken_at.desc(), Snapshot.id.desc()).limit(1)
    ).first()


@dataclass(frozen=True)
class Copies:
    """What a source holds of one body (snapshot ids; None where it holds none): its first
    snapshot in any state, its first rejected one, and its newest accepted one."""

    first: int | None = None
    rejected: int | None = None
    accepted: int | None = None


def _copy(*where: Any, newest: bool = False) -> Any:
    order = (Snapshot.taken_at.desc(), Snapshot.id.desc()) if newest else (Snapshot.id,)
    return (
        select(Snapshot.id)
        .where(
            Snapshot.source_id == bindparam("source_id"),
            Snapshot.sha256 == bindparam("sha256"),
            *where,
        )
        .order_by(*order)
        .limit(1)
        .scalar_subquery()
    )


# The three questions a new page asks of its body (stored already? rejected by an operator?
# accepted once and replaced since?) in one round trip: as three statements they took 0.9 ms
# of a replayed version on PostgreSQL, as one 0.3.
_COPIES = select(
    _copy(), _copy(Snapshot.state == "rejected"), _copy(Snapshot.state == "accepted", newest=True)
)


def body_copies(session: Session, source_id: int, sha256: str) -> Copies:
    first, rejected, accepted = session.execute(
        _COPIES, {"source_id": source_id, "sha256": sha256}
    ).one()
    return Copies(first, rejected, accepted)


def superseded_copy(
    session: Session,
    source_id: int,
    sha256: str,
    current: Snapshot,
    copies: Copies | None = None,
) -> tuple[Snapshot, Snapshot] | None:
    """An earlier accepted snapshot with this body that a later accepted page with another
    body replaced (the newest such), and the first accepted snapshot after it; None when the
    body is that of ``current``, the latest accepted snapshot, or was never accepted.
    ``copies`` is ``body_copies`` of this body when the caller read it already."""
    if sha256 == current.sha256:
        return None
    if copies is None:
        copies = body_copies(session, source_id, sha256)
    earlier = session.get(Snapshot, copies.accepted) if copies.accepted is not None else None
    if earlier is None:
        return None
    later = session.scalars(
        select(Snapshot)
        .where(
            Snapshot.source_id == source_id,
            Snapshot.state == "accepted",
            Snapshot.sha256 != sha256,
            (Snapshot.taken_at > earlier.taken_at)
            | ((Snapshot.taken_at == earlier.taken_at) & (Snapshot.id > earlier.id)),
        )
        .order_by(Snapshot.taken_at, Snapshot.id)
        .limit(1)
    ).first()
    return earlier, later or current


def snapshots_after(
    session: Session, source_id: int, snapshot: Snapshot, *, state: str
) -> list[Snapshot]:
    """The source's snapshots in ``state`` taken after ``snapshot``, oldest first."""
    return list(
        session.scalars(
            select(Snapshot)
            .where(
                Snapshot.source_id == source_id,
                Snapshot.state == state,
                (Snapshot.taken_at > snapshot.taken_at)
                | ((Snapshot.taken_at == snapshot.taken_at) & (Snapshot.id > snapshot.id)),
            )
            .order_by(Snapshot.taken_at, Snapshot.id)
        )
    )


def latest_snapshot_before(
    session: Session, source_id: int, snapshot: Snapshot, *, state: str | None = None
) -> Snapshot | None:
    q = select(Snapshot).where(
        Snapshot.source_id == source_id,
        Snapshot.id != snapshot.id,
        (Snapshot.taken_at < snapshot.taken_at)
        | ((Snapshot.taken_at == snapshot.taken_at) & (Snapshot.id < snapshot.id)),
    )
    if state is not None:
        q = q.where(Snapshot.state == state)
    return session.scalars(
        q.order_by(Snapshot.taken_at.desc(), Snapshot.id.desc()).limit(1)
    ).first()


@dataclass(frozen=True)
class Packed:
    """What ``add_snapshot`` writes of a page besides its row, made without the database
    (``pack``): a worker process makes it ahead of the write (watcher.ingest.ahead)."""

    body: bytes  # bodies.compress of the page
    records: records.Packed | None  # None for a page without records


def pack(body: bytes, document: Document) -> Packed:
    """The page's compressed body and packed record set."""
    packed = records.pack(document.records) if document.records else None
    return Packed(bodies.compress(body), packed)


def add_snapshot(
    session: Session,
    snapshot: Snapshot,
    document: Document,
    body: bytes,
    packed: Packed | None = None,
) -> Snapshot:
    """Store the snapshot of ``body`` (its sha256 is the snapshot's) and of the document
    read from it; the body and the records are stored only if no snapshot had them.
    ``packed`` is ``pack(body, document)`` when the caller made it already."""
    bodies.put(session, snapshot.sha256, body, packed.body if packed else None)
    made = packed.records if packed else None
    snapshot.records_id = records.store(session, document.records, made)
    snapshot.record_count = len(document.records)
    snapshot.warnings = list(document.warnings)
    session.add(snapshot)
    session.flush()
    _remember(snapshot, document)
    return snapshot


# The documents this process stored most recently, so the next check diffs against the last
# accepted version without reading its few hundred records back. An entry is exactly what
# was written for that snapshot row: the key names the row (its id and creation time, which
# no other row of any database shares in practice; a rolled-back row's id may come back on
# SQLite, its creation time does not) and the parser version it was read with, which a
# reparse changes. So an entry can never stand for other records.
_RECENT: OrderedDict[tuple[int, datetime, str, str], Document] = OrderedDict()
_RECENT_SIZE = 8
_RECENT_LOCK = threading.Lock()


def _doc_key(snapshot: Snapshot) -> tuple[int, datetime, str, str]:
    return (snapshot.id, snapshot.created_at, snapshot.sha256, snapshot.parser_version)


def _remember(snapshot: Snapshot, document: Document) -> None:
    key = _doc_key(snapshot)
    with _RECENT_LOCK:  # checks run on several threads (check --jobs, the daemon's pool)
        _RECENT[key] = document
        _RECENT.move_to_end(key)
        while len(_RECENT) > _RECENT_SIZE:
            _RECENT.popitem(last=False)


def snapshot_records(
    session: Session, snapshot_id: int, *, sections: Collection[str] | None = None
) -> tuple[Record, ...]:
    """A snapshot's records in page order; only those of ``sections``, when given."""
    found = records.of_snapshot(session, snapshot_id)
    if sections is None:
        return found
    return tuple(r for r in found if r.section in sections)


def load_document(session: Session, snapshot: Snapshot, *, cached: bool = True) -> Document:
    """The snapshot as the current parser reads it, to diff against; ``cached=False`` reads
    the stored rows whatever parser made them (what `watcher reparse` compares).

    A snapshot stored by an older parser is read again from its raw body: diffing a new
    page's records against records an older parser made reports the parser's upgrade as
    the page's changes (every link in its new normal form) and misses the real ones.
    """
    if cached:
        doc = _current_reading(session, snapshot)
        if doc is not None:
            return doc
    return _stored_document(session, snapshot)


def _current_reading(session: Session, snapshot: Snapshot) -> Document | None:
    """The document this process remembers for the snapshot, or the current parser's
    reading of its body when an older parser stored its records; None when its stored
    records are the current parser's."""
    with _RECENT_LOCK:
        hit = _RECENT.get(_doc_key(snapshot))
    if hit is not None:
        return hit
    from watcher.parse import PARSER_VERSION, parse

    if snapshot.parser_version == PARSER_VERSION:
        return None
    fmt = snapshot.format if snapshot.format in ("markdown", "html") else "auto"
    doc = parse(bodies.get(session, snapshot.sha256), fmt, snapshot.content_type)  # type: ignore[arg-type]
    _remember(snapshot, doc)
    return doc


def _stored_document(session: Session, snapshot: Snapshot) -> Document:
    """The snapshot's records as stored, in order."""
    return Document(
        records=records.of_snapshot(session, snapshot.id),
        title=snapshot.title,
        ms_date=snapshot.doc_date,
        warnings=tuple(str(w) for w in snapshot.warnings or ()),
    )


def change_columns(c: Change) -> dict[str, Any]:
    """What a changes row stores of a change (the carried cells and the section keys are
    not stored): the one mapping from a Change to its row, the inverse of ``to_change``."""
    links = bool(c.old_links or c.new_links)
    return {
        "kind": c.kind,
        "severity": c.severity,
        "section": c.section,
        "entity": c.entity,
        "entity_key": c.entity_key,
        "old_entity": c.old_entity,
        "old_section": c.old_section,
        "row": c.row,
        "column": c.column,
        "row_label": c.row_label,
        "column_label": c.column_label,
        "old_raw": c.old_raw,
        "new_raw": c.new_raw,
        "old_status": c.old_status,
        "new_status": c.new_status,
        "old_links": list(c.old_links) if links else None,
        "new_links": list(c.new_links) if links else None,
    }


def add_changes(
    session: Session,
    source_id: int,
    from_snapshot_id: int | None,
    to_snapshot_id: int,
    detected_at: datetime,
    changes: Iterable[Change],
) -> int:
    rows: list[dict[str, Any]] = [
        {
            "source_id": source_id,
            "from_snapshot_id": from_snapshot_id,
            "to_snapshot_id": to_snapshot_id,
            "detected_at": detected_at,
            "position": i,
            **change_columns(c),
        }
        for i, c in enumerate(changes)
    ]
    if rows:
        session.connection().execute(insert(CHANGES), rows)
    return len(rows)


def to_change(row: ChangeRow, cells: tuple[Record, ...] = ()) -> Change:
    """A stored change as the domain's Change (with ``cells``, the records it carries, when
    the caller read them): the one mapping from a changes row back to what the diff made."""
    return Change(
        kind=cast(ChangeKind, row.kind),
        severity=cast(Severity, row.severity),
        section=row.section,
        entity=row.entity,
        row=row.row,
        column=row.column,
        row_label=row.row_label,
        column_label=row.column_label,
        old_entity=row.old_entity,
        old_section=row.old_section,
        old_raw=row.old_raw,
        new_raw=row.new_raw,
        old_status=cast(_MaybeStatus, row.old_status),
        new_status=cast(_MaybeStatus, row.new_status),
        entity_key=row.entity_key,
        cells=cells,
        old_links=tuple(row.old_links or ()),
        new_links=tuple(row.new_links or ()),
    )


def queue_notification(session: Session, notification: Notification) -> bool:
    """Add an outbox row unless one with the same idempotency key exists; True if added."""
    exists = session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(Notification.idempotency_key == notification.idempotency_key)
    )
    if exists:
        return False
    session.add(notification)
    return True


def driver(session: Session) -> Conn:
    """The session's own driver connection, in its transaction: for the SQL the pipeline
    shares with the unchanged check (watcher.storage.checks)."""
    connection = session.connection()
    return Conn.of_engine(connection.connection.dbapi_connection, connection.dialect.name)


# The columns watcher.storage.checks.mark_checked writes, read back by the ORM when next used.
_COUNTERS = ("last_check_at", "last_success_at", "last_change_at", "failures_in_row")


def mark_checked(session: Session, source: Source, *, ok: bool, changed: bool) -> None:
    """Count one check of ``source`` as the unchanged check does, with the same SQL."""
    session.flush()  # the source's row exists, and holds the session's edits to it first
    checks.mark_checked(driver(session), source.id, utcnow(), ok=ok, changed=changed)
    session.expire(source, _COUNTERS)
