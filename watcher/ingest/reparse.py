"""Re-read stored pages with the current parser (``watcher reparse``) after an upgrade.

Raw bodies are kept exactly so this is possible: each snapshot's records are rebuilt, and the
change set of each pair of consecutive accepted snapshots is diffed again. What differs from
what was stored is reported, pair by pair, in the words of ``watcher.domain.describe``, and
(unless a dry run) replaces it.

A change notification still waiting about a replaced pair (pending, being sent, or dead and
so open to ``watcher notifications retry``) is pointed at the new rows its route picks from
the set as re-read, so it tells the team what the page says, not what an older parser
misread, and is sent whole (what an earlier attempt confirmed belonged to the old message).
One whose route now picks nothing is ``withdrawn``, saying why and naming no change: its
changes were the old parser's mistake, and no message is better than a wrong one; so is one
whose route left the config, which can no longer be re-picked. A withdrawn notification is
final: no retry revives it and it counts as no failed delivery. A sent notification keeps
the ids it was sent with: history only (a sent row is never sent again), and on SQLite
those ids may since name the rows that replaced them. Quarantine
decisions and accepted format changes are operators' history and are left as they are;
nothing new is notified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal, cast

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from watcher.domain import routes as routing
from watcher.domain.describe import sentence
from watcher.domain.diff import diff
from watcher.domain.document import Change, Document
from watcher.ingest.changeset import change_ids, payload
from watcher.parse import PARSER_VERSION, parse
from watcher.storage import bodies, records, store
from watcher.storage.models import ChangeRow, Notification, Snapshot, Source

if TYPE_CHECKING:
    from watcher.config import RouteConfig

Format = Literal["markdown", "html", "auto"]

# A waiting notification is one that may still be sent: a dead one can be retried.
WAITING = ("pending", "sending", "dead")
WITHDRAWN = (
    "withdrawn by reparse: the page as the current parser reads it has none of the changes "
    "this route wanted"
)
NO_ROUTE = (
    "withdrawn by reparse: its route is no longer in the config, so which of the changes as "
    "re-read it would want is unknown"
)


@dataclass(frozen=True)
class PairReport:
    source: str
    from_snapshot: int
    to_snapshot: int
    before: int
    after: int
    gone: tuple[str, ...]  # changes, in words, that the new parser no longer produces
    new: tuple[str, ...]  # changes, in words, it produces that were not stored
    # Waiting notifications about this pair now carrying the new rows their route picks,
    # and those withdrawn because their route picks none.
    repointed: int = 0
    withdrawn: int = 0


@dataclass(frozen=True)
class ReparseReport:
    snapshots: int
    reparsed: int  # snapshots whose records changed
    pairs: tuple[PairReport, ...]


def _stored_form(c: Change) -> tuple[object, ...]:
    """What a change row stores of a change, hashable: two changes with the same form are
    the same stored row."""
    return tuple(tuple(v) if isinstance(v, list) else v for v in store.change_columns(c).values())


def _stored_changes(session: Session, to_snapshot: int) -> list[Change]:
    rows = session.scalars(
        select(ChangeRow)
        .where(ChangeRow.to_snapshot_id == to_snapshot)
        .order_by(ChangeRow.position)
    )
    return [store.to_change(row) for row in rows]


def _follow(
    session: Session,
    source: str,
    to_snapshot: int,
    changes: Sequence[Change],
    routes: Sequence[RouteConfig],
    *,
    dry_run: bool,
) -> tuple[int, int]:
    """Point the waiting notifications about a pair at its re-read change set (written
    already unless ``dry_run``); (how many follow it, how many are withdrawn)."""
    waiting = session.scalars(
        select(Notification).where(
            Notification.kind == "changes",
            Notification.to_snapshot_id == to_snapshot,
            Notification.state.in_(WAITING),
        )
    ).all()
    by_name = {r.name: r for r in routes}
    ids = [] if dry_run else change_ids(session, to_snapshot)
    followed = withdrawn = 0
    for n in waiting:
        route = by_name.get(n.route)
        picked = routing.select(route, source, changes) if route is not None else []
        if picked:
            followed += 1
            if not dry_run:
                n.payload = payload(ids, picked, changes)
                # The message is another one now: sent whole again, never its old parts
                # beside its new ones (a Slack part or a recipient already confirmed).
                n.deliveries = None
            continue
        withdrawn += 1
        if not dry_run:
            # No ids kept: the old rows are gone, and SQLite may give their ids to new ones.
            n.state, n.next_attempt_at = "withdrawn", None
            n.last_error = WITHDRAWN if route is not None else NO_ROUTE
            n.payload = payload([], [])
    return followed, withdrawn


def _reread(
    session: Session, snaps: Sequence[Snapshot], *, dry_run: bool
) -> tuple[dict[int, Document], int]:
    """Each snapshot parsed again, its records replaced where they differ (unless a dry
    run); the documents by snapshot id, and how many snapshots' records changed."""
    docs: dict[int, Document] = {}
    reparsed = 0
    for snap in snaps:
        doc = parse(bodies.get(session, snap.sha256), cast(Format, snap.format), snap.content_type)
        docs[snap.id] = doc
        try:
            stored = store.load_document(session, snap, cached=False).records
        except LookupError:  # its record set is lost: re-reading the page is the repair
            stored = None
        if doc.records != stored:
            reparsed += 1
            if not dry_run:
                snap.records_id = records.store(session, doc.records)
        if not dry_run:
            snap.parser_version = PARSER_VERSION
            snap.record_count = len(doc.records)
            snap.title, snap.doc_date = doc.title, doc.ms_date
            snap.warnings = list(doc.warnings)
    return docs, reparsed


def reparse(
    session: Session,
    source_name: str | None = None,
    *,
    routes: Sequence[RouteConfig],
    dry_run: bool = False,
) -> ReparseReport:
    """Re-read every stored snapshot (of one source, when named); ``routes`` are the
    config's, which waiting notifications are re-picked with."""
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
        docs, changed = _reread(session, snaps, dry_run=dry_run)
        total, reparsed = total + len(snaps), reparsed + changed
        accepted = [s for s in snaps if s.state == "accepted"]
        for old, new in pairwise(accepted):
            stored = _stored_changes(session, new.id)
            if len(stored) == 1 and stored[0].kind == "format_changed":
                continue  # an accepted change of format stays one event
            changes = diff(docs[old.id], docs[new.id])
            before = [_stored_form(c) for c in stored]
            after = [_stored_form(c) for c in changes]
            if after == before:
                continue
            was, now = set(before), set(after)
            if not dry_run:
                session.execute(delete(ChangeRow).where(ChangeRow.to_snapshot_id == new.id))
                store.add_changes(session, source.id, old.id, new.id, new.taken_at, changes)
            followed, withdrawn = _follow(
                session, source.name, new.id, changes, routes, dry_run=dry_run
            )
            pairs.append(
                PairReport(
                    source=source.name,
                    from_snapshot=old.id,
                    to_snapshot=new.id,
                    before=len(stored),
                    after=len(changes),
                    gone=tuple(
                        sentence(c) for c, f in zip(stored, before, strict=True) if f not in now
                    ),
                    new=tuple(
                        sentence(c) for c, f in zip(changes, after, strict=True) if f not in was
                    ),
                    repointed=followed,
                    withdrawn=withdrawn,
                )
            )
    return ReparseReport(snapshots=total, reparsed=reparsed, pairs=tuple(pairs))


def reparse_stored(
    sessions: sessionmaker[Session],
    source_name: str | None = None,
    *,
    routes: Sequence[RouteConfig],
    dry_run: bool = False,
) -> ReparseReport:
    """``reparse`` in one transaction of its own: committed, or with ``dry_run`` rolled back
    (a dry run computes everything a real one stores, then keeps none of it)."""
    with sessions() as session:
        session.begin()
        report = reparse(session, source_name, routes=routes, dry_run=dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if not dry_run:
        # The sets the re-read records replaced, collected in a transaction of its own that
        # takes its locks first: inside the reparse's, which holds locks of the sets it wrote,
        # waiting for a check's writes could wait on a check waiting for those. Also when
        # nothing was re-read: a run whose collection failed after its reparse committed
        # (a lost connection) left its sets behind, and running it again collects them.
        with sessions.begin() as session:
            records.collect_garbage(session)
    return report
