"""What happens to a snapshot the guard held: seen again, accepted, rejected, released.

The guard (watcher.domain.guard) decides; this module does the storing. A held snapshot is stored
with state ``quarantined`` and the guard's reason; what may accept it is not stored but
judged again from the two pages whenever it matters (the guard is pure and the pages are
stored), so it follows the current parser and guard settings. ``accept`` makes a held
snapshot the baseline and diffs the snapshots held behind it, in order, against it;
``reject`` keeps a snapshot for the audit, out of the line of versions for good.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, text, update
from sqlalchemy.orm import Session, sessionmaker

from watcher.delivery.ops import queue_ops
from watcher.domain.diff import diff
from watcher.domain.document import Change, Document
from watcher.domain.guard import (
    AcceptAs,
    GuardPolicy,
    Hold,
    Verdict,
    accept_as,
    decision,
    judge,
    operator_decides,
)
from watcher.domain.outcome import Outcome
from watcher.domain.times import utcnow
from watcher.ingest.changeset import record_changes
from watcher.storage import store
from watcher.storage.models import HELD, Base, Snapshot, Source

_SNAPSHOTS = Base.metadata.tables["snapshots"]

if TYPE_CHECKING:
    from watcher.config import Config, RouteConfig


def judge_page(
    session: Session,
    source: Source,
    sha256: str,
    doc: Document,
    previous: Snapshot | None,
    previous_doc: Document | None,
    guard: GuardPolicy,
    copies: store.Copies | None = None,
) -> Verdict:
    """The guard's verdict on a page next to ``previous``, the latest accepted snapshot
    (``copies``: ``store.body_copies`` of this page's body, when the caller read it)."""
    copy = (
        store.superseded_copy(session, source.id, sha256, previous, copies)
        if previous is not None
        else None
    )
    return judge(
        previous_doc,
        doc,
        guard,
        same_as=copy[0].id if copy else None,
        superseded_by=copy[1].id if copy else None,
    )


def held_verdict(
    session: Session, source: Source, snapshot: Snapshot, guard: GuardPolicy
) -> Verdict:
    """The verdict on a stored snapshot next to the accepted snapshot before it."""
    previous = store.latest_snapshot_before(session, source.id, snapshot, state="accepted")
    previous_doc = store.load_document(session, previous) if previous is not None else None
    doc = store.load_document(session, snapshot)
    return judge_page(session, source, snapshot.sha256, doc, previous, previous_doc, guard)


def notify_held(
    session: Session,
    source: Source,
    snapshot: Snapshot,
    hold: Hold | None,
    routes: Sequence[RouteConfig],
    guard: GuardPolicy,
    *,
    seen: str = "",
) -> int:
    """The ops notice of a held snapshot: why, and what decides it. Repeated no more often
    than each ops route's repeat_every while the page is held (watcher.delivery.ops)."""
    now = utcnow()
    # A page an operator rejected is decided: the notice says so, and offers no command.
    decides = (
        "An operator rejected it; it stays out of the page's history."
        if snapshot.state == "rejected"
        else decision(hold, snapshot.id, guard)
    )
    return queue_ops(
        session,
        routes,
        source=source,
        event="quarantined",
        text=f"{source.name}: snapshot {snapshot.id} quarantined{seen}: {snapshot.reason}. "
        + decides,
        now=now,
        ref=f"snapshot-{snapshot.id}-{now.isoformat()}",
        snapshot_id=snapshot.id,
    )


def confirm(
    session: Session,
    source: Source,
    snapshot: Snapshot,
    *,
    routes: Sequence[RouteConfig],
    notify: bool,
    guard: GuardPolicy,
) -> Outcome:
    """A check found the held page again, unchanged (the same body, or a 304 for it)."""
    snapshot.confirmations += 1
    verdict = held_verdict(session, source, snapshot, guard)
    reason, mode = _accepted_on_sight(snapshot, verdict, guard)
    if reason is not None:
        return accept(
            session,
            source,
            snapshot,
            routes=routes,
            notify=notify,
            guard=guard,
            reason=reason,
            as_=mode,
        )
    queued = 0
    if notify:
        queued = notify_held(
            session,
            source,
            snapshot,
            verdict.hold,
            routes,
            guard,
            seen=f" (seen {snapshot.confirmations + 1} times)",
        )
    detail = _still_held(snapshot, verdict, guard)
    return Outcome(source.name, "quarantined", snapshot.id, notifications=queued, detail=detail)


def _accepted_on_sight(
    snapshot: Snapshot, verdict: Verdict, guard: GuardPolicy
) -> tuple[str | None, AcceptAs]:
    """Why seeing the held page again accepts it now, and as what; no reason when it stays
    held."""
    if verdict.accepted:
        # Readable now (a newer parser, other guard settings): accepted as the page it is.
        # The guard believes its diff now: the page's changes are reported one by one.
        return "seen again and passes the guard now", "diff"
    if verdict.hold == "shape" and snapshot.confirmations >= guard.confirmations:
        return f"confirmed by {snapshot.confirmations} later checks", "format"
    return None, "diff"


def _still_held(snapshot: Snapshot, verdict: Verdict, guard: GuardPolicy) -> str:
    """What a check that saw the held page again says of it, and what decides it."""
    if verdict.hold == "shape":
        return (
            f"seen again ({snapshot.confirmations} of {guard.confirmations} confirmations needed)"
        )
    seen = (
        f"seen again ({snapshot.confirmations + 1} checks so far), still held: {verdict.reason}; "
    )
    if verdict.hold == "second_look":
        return seen + "a later version showing the same change, or an operator, decides it"
    return seen + operator_decides(snapshot.id)


def accept(
    session: Session,
    source: Source,
    snapshot: Snapshot,
    *,
    routes: Sequence[RouteConfig] = (),
    notify: bool = True,
    reason: str = "accepted by an operator",
    guard: GuardPolicy = GuardPolicy(),
    as_: AcceptAs | None = None,
) -> Outcome:
    """Accept a held snapshot as the baseline later versions are diffed against.

    A page that reads like the accepted one (a loss or addition confirmed) is diffed against
    it cell by cell; any other (a new format, another language) is one format_changed event,
    not hundreds of false removals against the old format.
    """
    previous = _acceptable(session, source, snapshot)
    previous_doc = store.load_document(session, previous) if previous is not None else None
    doc = store.load_document(session, snapshot)
    if not doc.records:
        # A sign-in or error page (as the current parser reads it): as the baseline, the next
        # real page would read as everything added. It can only be rejected.
        raise ValueError(
            f"snapshot {snapshot.id} has no records ({snapshot.reason}): it cannot be the page's "
            f"baseline; `watcher reject {snapshot.id}` keeps it out of the way"
        )
    mode = as_ or accept_as(previous_doc, doc, guard)
    snapshot.state = "accepted"
    # Kept for the audit, as a rejection keeps its reasons.
    snapshot.reason = held_because(snapshot, reason)
    supersede(session, source, snapshot)
    changes, told = _changes_of_accepted(snapshot, previous, previous_doc, doc, mode)
    outcome = record_changes(session, source, previous, snapshot, changes, routes, notify)
    ops_queued = 0
    if notify:
        ops_queued = queue_ops(
            session,
            routes,
            source=source,
            event="reformatted",
            text=f"{source.name}: snapshot {snapshot.id} accepted ({reason}), {told}.",
            now=utcnow(),
            ref=f"snapshot-{snapshot.id}",
            snapshot_id=snapshot.id,
        )
    # The change set's outcome, told as the acceptance it is.
    notifications = outcome.notifications + ops_queued
    return replace(outcome, result="accepted", notifications=notifications, detail=reason)


def _acceptable(session: Session, source: Source, snapshot: Snapshot) -> Snapshot | None:
    """The accepted snapshot before a held one that may be accepted; raises ValueError for
    one that is not held, or older than the accepted history."""
    if snapshot.state != "quarantined":
        raise ValueError(f"snapshot {snapshot.id} is {snapshot.state}, not quarantined")
    newest = store.latest_snapshot(session, source.id, state="accepted")
    if newest is not None and (newest.taken_at, newest.id) > (snapshot.taken_at, snapshot.id):
        raise ValueError(
            f"snapshot {snapshot.id} is older than accepted snapshot {newest.id}: "
            "only a page newer than the accepted history can become its new format"
        )
    return store.latest_snapshot_before(session, source.id, snapshot, state="accepted")


def _changes_of_accepted(
    snapshot: Snapshot,
    previous: Snapshot | None,
    previous_doc: Document | None,
    doc: Document,
    mode: AcceptAs,
) -> tuple[list[Change], str]:
    """The changes an accepted snapshot brings, and how the ops notice words them."""
    if mode == "diff" and previous_doc is not None:
        told = f"its changes against snapshot {previous.id if previous else '-'} are reported"
        return diff(previous_doc, doc), told
    format_changed = Change(
        kind="format_changed",
        severity="warning",
        section="",
        entity="",
        old_raw=f"{previous.record_count} records" if previous is not None else None,
        new_raw=f"{len(doc.records)} records; {snapshot.reason}",
    )
    return [format_changed], "as the page's new format; later changes are diffed against it"


def accept_held(
    session: Session,
    source: Source,
    snapshot: Snapshot,
    *,
    routes: Sequence[RouteConfig] = (),
    notify: bool = True,
    guard: GuardPolicy = GuardPolicy(),
) -> list[Outcome]:
    """An operator's accept: the snapshot, then the snapshots held behind it, each judged
    and diffed in order against the last one accepted, so nothing served meanwhile is lost."""
    outcomes = [accept(session, source, snapshot, routes=routes, notify=notify, guard=guard)]
    base, base_doc = snapshot, store.load_document(session, snapshot)
    for later in store.snapshots_after(session, source.id, snapshot, state="quarantined"):
        doc = store.load_document(session, later)
        verdict = judge_page(session, source, later.sha256, doc, base, base_doc, guard)
        if not verdict.accepted:
            later.reason = verdict.reason
            outcomes.append(
                Outcome(source.name, "quarantined", later.id, detail=verdict.reason or "")
            )
            continue
        later.state = "accepted"
        supersede(session, source, later)
        changes = verdict.changes if verdict.changes is not None else tuple(diff(base_doc, doc))
        outcomes.append(record_changes(session, source, base, later, changes, routes, notify))
        base, base_doc = later, doc
    return outcomes


def supersede(session: Session, source: Source, accepted: Snapshot) -> None:
    """The snapshots held before a newly accepted one are over: the page moved on without
    them. They stay quarantined, kept for the audit, and say what ended them."""
    # Core, on the table: the ORM's bulk update took 0.6 ms of every accepted version, most
    # of it its own bookkeeping, for a statement that almost always changes no row. The
    # session's pending edits first, as the ORM's update flushed them: a held row's reason
    # written after this UPDATE would overwrite the mark it adds.
    session.flush()
    table = _SNAPSHOTS
    earlier = or_(
        table.c.taken_at < accepted.taken_at,
        and_(table.c.taken_at == accepted.taken_at, table.c.id < accepted.id),
    )
    mark = f"superseded by snapshot {accepted.id}"
    reason = func.coalesce(table.c.reason, "")
    session.connection().execute(
        update(table)
        .where(table.c.source_id == source.id, text(HELD), earlier)
        .where(~reason.like("%superseded by snapshot %"))
        .values(reason=reason + f"; {mark}")
    )


def held_because(snapshot: Snapshot, decided: str) -> str:
    """A decided snapshot's reason: who or what decided it, and why the guard held it."""
    return f"{decided}; quarantined because {snapshot.reason or 'it did not look like the page'}"


def reject(snapshot: Snapshot, why: str | None = None) -> None:
    """Mark a held snapshot rejected: kept with its reasons, never diffed, out of the way of
    the versions before and after it."""
    if snapshot.state != "quarantined":
        raise ValueError(f"snapshot {snapshot.id} is {snapshot.state}, not quarantined")
    snapshot.state = "rejected"
    said = f": {why}" if why else ""
    snapshot.reason = held_because(snapshot, f"rejected by an operator{said}")


class Refused(ValueError):
    """An operator's decision that cannot be carried out: no such snapshot, or one the guard
    does not hold."""


def _held(session: Session, snapshot_id: int) -> Snapshot:
    snapshot = session.get(Snapshot, snapshot_id)
    if snapshot is None:
        raise Refused(f"no snapshot {snapshot_id}")
    return snapshot


def accept_stored(
    sessions: sessionmaker[Session], snapshot_id: int, config: Config
) -> list[Outcome]:
    """``watcher accept``: ``accept_held`` of a snapshot by id, in one transaction, judged
    with its source's guard settings and queueing for the config's routes."""
    with sessions.begin() as session:
        snapshot = _held(session, snapshot_id)
        configured = config.source(snapshot.source.name)
        guard = configured.guard.policy() if configured is not None else GuardPolicy()
        try:
            return accept_held(
                session, snapshot.source, snapshot, routes=config.routes, guard=guard
            )
        except ValueError as exc:
            raise Refused(str(exc)) from exc


def reject_stored(sessions: sessionmaker[Session], snapshot_id: int, why: str | None = None) -> str:
    """``watcher reject``: ``reject`` of a snapshot by id, in one transaction; the name of
    its source."""
    with sessions.begin() as session:
        snapshot = _held(session, snapshot_id)
        try:
            reject(snapshot, why)
        except ValueError as exc:
            raise Refused(str(exc)) from exc
        return snapshot.source.name
