"""Re-read stored pages with the current parser (``watcher reparse``) after an upgrade.

Raw bodies are kept exactly so this is possible: each snapshot's records are rebuilt, and the
change set of each pair of consecutive accepted snapshots is diffed again. What differs from
what was stored is reported, pair by pair, and (unless a dry run) replaces it, except for a
pair whose change notifications are still waiting to be sent: those point at the stored
change rows, so the rows stay until they are sent and a later reparse repairs them. Quarantine
decisions and accepted format changes are operators' history and are left as they are;
nothing is notified.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Literal, cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from watcher.domain.diff import diff
from watcher.domain.document import Change, Document
from watcher.parse import PARSER_VERSION, parse
from watcher.storage import store
from watcher.storage.models import ChangeRow, Notification, RecordRow, Snapshot, Source

Format = Literal["markdown", "html", "auto"]


@dataclass(frozen=True)
class PairReport:
    source: str
    from_snapshot: int
    to_snapshot: int
    before: int
    after: int
    gone: tuple[str, ...]  # change descriptions that the new parser no longer produces
    new: tuple[str, ...]  # change descriptions it produces that were not stored
    # Notifications still to send about this pair: they point at its stored change rows by
    # position, so those rows are kept until they are sent (reparse again then).
    held: int = 0


@dataclass(frozen=True)
class ReparseReport:
    snapshots: int
    reparsed: int  # snapshots whose records changed
    pairs: tuple[PairReport, ...]


def _signature(c: Change | ChangeRow) -> str:
    """A change in words, the same for a stored row and a freshly computed change."""
    cell = " · ".join(p for p in (c.entity, c.row, c.column) if p)
    old: object = c.old_status or c.old_raw
    new: object = c.new_status or c.new_raw
    if c.kind == "link_changed":
        old, new = list(c.old_links or ()), list(c.new_links or ())
    return f"{c.kind} {cell}: {old} → {new}"


def _stored_signatures(session: Session, to_snapshot: int) -> list[str]:
    rows = session.scalars(
        select(ChangeRow)
        .where(ChangeRow.to_snapshot_id == to_snapshot)
        .order_by(ChangeRow.position)
    ).all()
    return [_signature(c) for c in rows]


def _signatures(changes: list[Change]) -> list[str]:
    return [_signature(c) for c in changes]


def _undelivered(session: Session, to_snapshot: int) -> int:
    """Change notifications about a pair not yet sent (or being sent)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.kind == "changes",
                Notification.to_snapshot_id == to_snapshot,
                Notification.state.in_(("pending", "sending")),
            )
        )
        or 0
    )


def _same_records(a: Document, b: Document) -> bool:
    # Everything a record says, links (their normal forms) and mixed parts included.
    return a.records == b.records


def reparse(
    session: Session, source_name: str | None = None, *, dry_run: bool = False
) -> ReparseReport:
    q = select(Source).order_by(Source.name)
    if source_name:
        q = q.where(Source.name == source_name)
    total = reparsed = 0
    pairs: list[PairReport] = []
    for source in session.scalars(q).all():
        snaps = session.scalars(
            select(Snapshot)
            .where(Snapshot.source_id == source.id)
            .order_by(Snapshot.taken_at, Snapshot.id)
        ).all()
        docs: dict[int, Document] = {}
        for snap in snaps:
            total += 1
            doc = parse(snap.body, cast(Format, snap.format), snap.content_type)
            docs[snap.id] = doc
            if not _same_records(doc, store.load_document(session, snap, cached=False)):
                reparsed += 1
                if not dry_run:
                    session.execute(delete(RecordRow).where(RecordRow.snapshot_id == snap.id))
                    store.add_records(session, snap.id, doc.records)
            if not dry_run:
                snap.parser_version = PARSER_VERSION
                snap.record_count = len(doc.records)
                snap.title, snap.doc_date = doc.title, doc.ms_date
                snap.warnings = list(doc.warnings)
        accepted = [s for s in snaps if s.state == "accepted"]
        for old, new in pairwise(accepted):
            stored = _stored_signatures(session, new.id)
            if len(stored) == 1 and stored[0].startswith("format_changed"):
                continue  # an accepted change of format stays one event
            changes = diff(docs[old.id], docs[new.id])
            fresh = _signatures(changes)
            if fresh == stored:
                continue
            held = _undelivered(session, new.id)
            pairs.append(
                PairReport(
                    source=source.name,
                    from_snapshot=old.id,
                    to_snapshot=new.id,
                    before=len(stored),
                    after=len(fresh),
                    gone=tuple(s for s in stored if s not in fresh),
                    new=tuple(s for s in fresh if s not in stored),
                    held=held,
                )
            )
            if not dry_run and not held:
                session.execute(delete(ChangeRow).where(ChangeRow.to_snapshot_id == new.id))
                store.add_changes(session, source.id, old.id, new.id, new.taken_at, changes)
    return ReparseReport(snapshots=total, reparsed=reparsed, pairs=tuple(pairs))


def reparse_stored(
    sessions: sessionmaker[Session], source_name: str | None = None, *, dry_run: bool = False
) -> ReparseReport:
    """``reparse`` in one transaction of its own: committed, or with ``dry_run`` rolled back
    (a dry run computes everything a real one stores, then keeps none of it)."""
    with sessions() as session:
        session.begin()
        report = reparse(session, source_name, dry_run=dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report
