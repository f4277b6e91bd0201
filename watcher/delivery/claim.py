"""Claiming outbox rows: which are due, and the one conditional UPDATE that makes a row this
dispatcher's to send.

A claim sets ``sending``, a lease end in ``next_attempt_at`` and ``attempts + 1``, and is
committed before anything is sent: two dispatchers never send the same row at once, and no
database transaction is held open across the network. A row whose lease ran out (its
dispatcher died) is claimable again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from watcher.delivery.policy import Run
from watcher.storage.models import Notification


def _claimable(at: datetime) -> Any:
    return or_(
        and_(
            Notification.state == "pending",
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= at),
        ),
        and_(Notification.state == "sending", Notification.next_attempt_at <= at),
    )


def due(
    sessions: sessionmaker[Session], at: datetime, limit: int, ids: Sequence[int] | None
) -> list[int]:
    """The ids of up to ``limit`` rows claimable at ``at`` (of ``ids`` only, if given)."""
    q = select(Notification.id).where(_claimable(at))
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    with sessions() as session:
        return list(session.scalars(q.order_by(Notification.id).limit(limit)))


def next_due(sessions: sessionmaker[Session], ids: Sequence[int] | None) -> datetime | None:
    """When the next pending row falls due."""
    q = select(func.min(Notification.next_attempt_at)).where(Notification.state == "pending")
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    with sessions() as session:
        return session.scalar(q)


def still_failing(sessions: sessionmaker[Session], ids: Sequence[int] | None) -> int:
    """Rows pending again after a failed attempt."""
    q = (
        select(func.count())
        .select_from(Notification)
        # A row being sent under another dispatcher's live claim is not failing (yet).
        .where(Notification.state == "pending", Notification.attempts > 0)
    )
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    with sessions() as session:
        return int(session.scalar(q) or 0)


def claim(session: Session, run: Run, notification_id: int) -> bool:
    """Make the row this run's if it is still claimable; False when another has it."""
    at = run.now()
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _claimable(at))
        .values(
            state="sending",
            next_attempt_at=at + timedelta(seconds=run.policy.lease),
            attempts=Notification.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(int, result.rowcount) == 1  # type: ignore[attr-defined]
