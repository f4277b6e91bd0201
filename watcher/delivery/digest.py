"""Digests in the outbox: a route with ``digest = "daily 09:00 Europe/Berlin"`` hears of its
change sets once, in one message, at that time.

Each change set keeps its own outbox row, written with its snapshot as for any route, and is
*held* (``pending``, never claimed on its own) while its route has a digest: the claim sees
the route as quiet until its next digest time (``watcher.delivery.claim.quiet_now``), which
is also what ``next_due`` reports. When the time has come, ``gather`` makes one row of
``kind="digest"`` covering every held row queued before it (``payload.covers``, their ids),
and marks each covered row's ``topic`` with the digest's key, in one transaction: killed
half-way, either the digest and its covers exist or neither does. The digest is claimed,
sent and retried like any row; when it is settled (``sent`` or ``dead``) the covered rows
take its outcome in the same transaction (``settle_covered``), so nothing is sent twice and
nothing is lost. A covered row is never claimable on its own, whatever the config says
later.

The key names the route and the digest time, so two dispatchers gathering at once make one
digest: on SQLite the write lock serializes them and the second finds the rows covered; on
PostgreSQL the rows are locked ``FOR UPDATE`` and the unique key refuses a second digest.
Everything lives in the rows: a restart before, at or after the time changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from watcher.domain.digest import Schedule
from watcher.domain.times import iso
from watcher.storage.engine import READ_ONLY
from watcher.storage.models import Notification

if TYPE_CHECKING:
    from watcher.config import RouteConfig

log = logging.getLogger("watcher.delivery.outbox")

KIND = "digest"
_PREFIX = "digest:"


def schedules(routes: Iterable[RouteConfig]) -> dict[str, Schedule]:
    """The routes that have a digest, with its schedule, by name."""
    return {r.name: s for r in routes if (s := r.schedule) is not None}


def digest_key(route: str, at: datetime) -> str:
    return f"{_PREFIX}{route}:{iso(at)}"


def covered() -> Any:
    """The row is a change set a digest covers: it goes with the digest, never alone."""
    # Never NULL (a change set's topic mostly is): NOT of it must hold for the others.
    topic = func.coalesce(Notification.topic, "")
    return and_(Notification.kind == "changes", topic.like(f"{_PREFIX}%"))


def _waiting(route: str, before: datetime) -> Any:
    return and_(
        Notification.route == route,
        Notification.kind == "changes",
        Notification.state == "pending",
        Notification.topic.is_(None),
        Notification.created_at <= before,
    )


def gather(sessions: sessionmaker[Session], routes: Iterable[RouteConfig], at: datetime) -> int:
    """Make the digests that are due at ``at``; how many were made."""
    made = 0
    for route in routes:
        schedule = route.schedule
        if schedule is None:
            continue
        due = schedule.last(at)
        # Most dispatches find nothing to gather (or this time's digest made already): asked
        # in a reader's session first, so they never take SQLite's write lock for it.
        key = digest_key(route.name, due)
        with sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            q = select(Notification.id).where(_waiting(route.name, due)).limit(1)
            made_already = select(Notification.id).where(Notification.idempotency_key == key)
            if session.scalar(q) is None or session.scalar(made_already) is not None:
                continue
        try:
            with sessions.begin() as session:
                made += _gather(session, route, due, at)
        except IntegrityError:
            # Another dispatcher made this digest between our read and our write.
            log.info("digest of route %s at %s: made by another dispatcher", route.name, due)
    return made


def _gather(session: Session, route: RouteConfig, due: datetime, at: datetime) -> int:
    q = select(Notification.id, Notification.created_at).where(_waiting(route.name, due))
    # PostgreSQL: a second gatherer waits for these rows, then finds them covered.
    rows = session.execute(q.order_by(Notification.id).with_for_update()).all()
    if not rows:
        return 0
    key = digest_key(route.name, due)
    if session.scalar(select(Notification.id).where(Notification.idempotency_key == key)):
        # The digest of this time was made; rows queued before it but committed after wait
        # for the next one.
        return 0
    ids = [int(i) for i, _ in rows]
    session.add(
        Notification(
            idempotency_key=key,
            route=route.name,
            channel=route.channel,
            kind=KIND,
            created_at=at,
            payload={
                "covers": ids,
                "at": iso(due),
                "since": iso(min(c for _, c in rows)),
                "schedule": route.digest,
            },
        )
    )
    session.flush()  # the unique key refuses a second digest of this time here
    session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.topic.is_(None))
        .values(topic=key)
        .execution_options(synchronize_session=False)
    )
    log.info("digest of route %s at %s: %d change set(s)", route.name, iso(due), len(ids))
    return 1


def covered_rows(session: Session, digest: Notification) -> Sequence[Notification]:
    """The change sets a digest covers that are still to be told (not withdrawn), oldest
    first."""
    ids = [int(i) for i in digest.payload.get("covers", [])]
    return session.scalars(
        select(Notification)
        .where(
            Notification.id.in_(ids),
            Notification.topic == digest.idempotency_key,
            Notification.state.in_(("pending", "sending")),
        )
        .order_by(Notification.id)
    ).all()


def withdraw_if_empty(session: Session, digest: Notification) -> bool:
    """A claimed digest none of whose change sets is left to tell (`watcher reparse` withdrew
    them all meanwhile) is withdrawn itself, unsent: a message saying nothing is noise."""
    if digest.kind != KIND or covered_rows(session, digest):
        return False
    digest.state, digest.next_attempt_at = "withdrawn", None
    digest.last_error = "withdrawn: every change set it covered was withdrawn since"
    return True


def settle_covered(session: Session, digest: Notification, at: datetime) -> None:
    """The covered rows take the digest's outcome (``sent`` or ``dead``), in its transaction."""
    if digest.kind != KIND or digest.state not in ("sent", "dead"):
        return
    ids = [int(i) for i in digest.payload.get("covers", [])]
    values: dict[str, Any] = {"state": digest.state, "next_attempt_at": None}
    if digest.state == "sent":
        values["sent_at"] = at
    else:
        values["last_error"] = f"its digest, notification {digest.id}, is dead"
    session.execute(
        update(Notification)
        .where(
            Notification.id.in_(ids),
            Notification.topic == digest.idempotency_key,
            Notification.state.in_(("pending", "sending", "dead")),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def revived(session: Session, ids: Sequence[int]) -> None:
    """After ``watcher notifications retry`` made ``ids`` pending again: a digest's covered
    rows are pending again with it; a covered row revived without its digest waits for the
    next digest of its route (its old digest is dead)."""
    rows = session.scalars(select(Notification).where(Notification.id.in_(ids))).all()
    digests = {n.idempotency_key: n for n in rows if n.kind == KIND}
    for n in digests.values():
        session.execute(
            update(Notification)
            .where(
                Notification.id.in_([int(i) for i in n.payload.get("covers", [])]),
                Notification.topic == n.idempotency_key,
                Notification.state == "dead",
            )
            .values(state="pending", attempts=0, next_attempt_at=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
    for n in rows:
        covered_alone = n.topic and n.topic.startswith(_PREFIX) and n.topic not in digests
        if n.kind == "changes" and covered_alone:
            n.topic = None


def held_until(route: RouteConfig, at: datetime) -> datetime | None:
    """When a change set of ``route`` held at ``at`` goes next (in a digest), or None."""
    schedule = route.schedule
    return schedule.next(at) if schedule is not None else None
