"""Claiming outbox rows: which are due, and the one conditional UPDATE that makes a row this
dispatcher's to send.

A claim sets ``sending``, a lease end in ``next_attempt_at``, ``attempts + 1`` and who claimed
it (``claimed_by``: host, pid and process start), and is committed before anything is sent:
two dispatchers never send the same row at once, and no database transaction is held open
across the network. A row whose lease ran out, or whose claimer is gone (killed: a process on
this host that no longer runs), is claimable again at once.

A source's change sets reach a route in order: a change set is not claimable while an older
one of the same route and source is unsettled (pending, sending, or waiting for its retry).
Dead, sent and withdrawn ones are settled, so a dead one never blocks those after it.

Quiet hours hold a route's change sets while its window lasts (``quiet_now``, from the
config and the clock of this very call: nothing about them is kept in memory, so a restart
inside or after the window decides the same). A change set of the bypass severity or worse
goes through, and so do the older ones of its source before it, so the order holds.
``next_due`` counts a held row as due when its window ends.

A route with a digest is quiet in the same way until its next digest time, with no bypass:
its change sets go in the digest (``watcher.delivery.digest``), and a change set a digest
covers is never claimable on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import and_, exists, false, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from watcher.delivery import digest
from watcher.delivery.policy import Run
from watcher.domain.document import SEVERITY_RANK
from watcher.domain.times import utcnow
from watcher.storage.lease import Holder, claim_over, this_process
from watcher.storage.models import Notification

if TYPE_CHECKING:
    from watcher.config import RouteConfig

UNSETTLED = ("pending", "sending")


def _in_turn() -> Any:
    """No older change set of this row's route and source is unsettled."""
    older = aliased(Notification)
    waiting = exists().where(
        older.route == Notification.route,
        older.source_id == Notification.source_id,
        older.kind == "changes",
        older.state.in_(UNSETTLED),
        older.id < Notification.id,
    )
    return or_(Notification.kind != "changes", Notification.source_id.is_(None), ~waiting)


@dataclass(frozen=True)
class Quiet:
    """A route in its quiet window: held until ``until``, but for these severities; or a
    route whose change sets wait for its next digest (``digest``), at ``until``."""

    until: datetime
    bypass: tuple[str, ...]
    digest: bool = False


def quiet_now(routes: Iterable[RouteConfig], at: datetime) -> dict[str, Quiet]:
    """The routes in their quiet window at ``at``, and those with a digest, by name."""
    out: dict[str, Quiet] = {}
    for route in routes:
        next_digest = digest.held_until(route, at)
        if next_digest is not None:
            out[route.name] = Quiet(next_digest, (), digest=True)
            continue
        window = route.quiet
        until = window.until(at) if window is not None else None
        if until is None:
            continue
        floor = route.quiet_hours_bypass
        bypass = tuple(
            s for s, rank in SEVERITY_RANK.items() if floor and rank >= SEVERITY_RANK[floor]
        )
        out[route.name] = Quiet(until, bypass)
    return out


def _severity_in(row: Any, severities: tuple[str, ...]) -> Any:
    # A row queued before severities were recorded has none: it never bypasses (and is
    # never NULL, which the held and soonest queries would both miss).
    severity = func.coalesce(row.payload["severity"].as_string(), "")
    return severity.in_(severities) if severities else false()


def _held(quiet: Mapping[str, Quiet]) -> Any:
    """The row is a change set of a route in its quiet window, and neither it nor a newer
    unsettled one of its source is severe enough to go through."""
    if not quiet:
        return false()
    newer = aliased(Notification)
    held = []
    for name, q in quiet.items():
        urgent_after = exists().where(
            newer.route == Notification.route,
            newer.source_id == Notification.source_id,
            newer.kind == "changes",
            newer.state.in_(UNSETTLED),
            newer.id > Notification.id,
            _severity_in(newer, q.bypass),
        )
        passes = or_(_severity_in(Notification, q.bypass), urgent_after)
        held.append(and_(Notification.route == name, Notification.kind == "changes", ~passes))
    return or_(*held)


def _claimable(
    at: datetime, gone: Sequence[str] = (), quiet: Mapping[str, Quiet] | None = None
) -> Any:
    return and_(
        ~_held(quiet or {}),
        ~digest.covered(),
        or_(
            and_(
                Notification.state == "pending",
                or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= at),
            ),
            and_(Notification.state == "sending", Notification.next_attempt_at <= at),
            and_(Notification.state == "sending", Notification.claimed_by.in_(gone))
            if gone
            else false(),
        ),
        _in_turn(),
    )


def _gone(session: Session, at: datetime, ids: Sequence[int] | None) -> list[str]:
    """The claimers of rows still under a live lease whose process is gone."""
    q = select(Notification.claimed_by).where(
        Notification.state == "sending",
        Notification.next_attempt_at > at,
        Notification.claimed_by.is_not(None),
    )
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    claimers = {c for c in session.scalars(q.distinct()) if c is not None}
    return sorted(c for c in claimers if (h := Holder.parse(c)) and h.alive() is False)


def due(
    sessions: sessionmaker[Session],
    at: datetime,
    limit: int,
    ids: Sequence[int] | None,
    quiet: Mapping[str, Quiet] | None = None,
) -> list[int]:
    """The ids of up to ``limit`` rows claimable at ``at`` (of ``ids`` only, if given), the
    change sets of the ``quiet`` routes held."""
    with sessions() as session:
        q = select(Notification.id).where(_claimable(at, _gone(session, at, ids), quiet))
        if ids is not None:
            q = q.where(Notification.id.in_(ids))
        return list(session.scalars(q.order_by(Notification.id).limit(limit)))


def next_due(
    sessions: sessionmaker[Session],
    ids: Sequence[int] | None,
    quiet: Mapping[str, Quiet] | None = None,
) -> datetime | None:
    """When the next pending row falls due (of those whose turn it is): a held one, when its
    route's quiet window ends."""
    quiet = quiet or {}
    q = select(func.min(Notification.next_attempt_at)).where(
        Notification.state == "pending", _in_turn(), ~_held(quiet), ~digest.covered()
    )
    held = select(Notification.route).where(
        Notification.state == "pending",
        _held(quiet),
        ~digest.covered(),
        Notification.route.in_(list(quiet)),
    )
    if ids is not None:
        q, held = q.where(Notification.id.in_(ids)), held.where(Notification.id.in_(ids))
    with sessions() as session:
        soonest = session.scalar(q)
        ends = [quiet[r].until for r in session.scalars(held.distinct())] if quiet else []
    return min([t for t in (soonest, *ends) if t is not None], default=None)


def still_failing(
    sessions: sessionmaker[Session], ids: Sequence[int] | None, at: datetime | None = None
) -> int:
    """Rows pending again after a failed attempt, and rows stuck in ``sending`` (their claim's
    lease is over or its process is gone: nobody is sending them)."""
    at = at or utcnow()
    q = select(Notification.state, Notification.claimed_by, Notification.next_attempt_at).where(
        # A row being sent under another dispatcher's live claim is not failing (yet).
        or_(
            and_(Notification.state == "pending", Notification.attempts > 0),
            Notification.state == "sending",
        )
    )
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    with sessions() as session:
        rows = session.execute(q).all()
    return sum(state == "pending" or claim_over(by, end, at) for state, by, end in rows)


def claim(session: Session, run: Run, notification_id: int) -> bool:
    """Make the row this run's if it is still claimable; False when another has it."""
    at = run.now()
    quiet = quiet_now(run.config.routes, at)
    result = session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            _claimable(at, _gone(session, at, [notification_id]), quiet),
        )
        .values(
            state="sending",
            next_attempt_at=at + timedelta(seconds=run.policy.lease),
            attempts=Notification.attempts + 1,
            claimed_by=str(this_process()),
            claimed_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(int, result.rowcount) == 1  # type: ignore[attr-defined]
