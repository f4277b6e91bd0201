"""An operator's repair of the outbox: dead notifications made pending again
(``watcher notifications retry``), for when the webhook or the mail server was fixed.

A revived row is an ordinary pending row with its attempts reset, so the dispatcher sends it
as it sends any other: claimed, sent, confirmed, with the whole retry budget again. What a
channel already confirmed of it (one recipient of an email, one part of a split Slack
message) stays recorded, and is not sent twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from watcher.delivery import digest
from watcher.domain.times import utcnow
from watcher.storage.models import Notification


class NotDead(ValueError):
    """A notification named for a retry that does not exist or is not dead."""


def revive(session: Session, ids: Sequence[int] | None, now: datetime) -> list[int]:
    """Make the dead notifications ``ids`` (every dead one when None) pending again, due
    now, with no attempts counted; the ids revived, in order. Refuses, changing nothing,
    when one of ``ids`` is missing or not dead."""
    if ids is not None:
        q = select(Notification.id, Notification.state).where(Notification.id.in_(ids))
        found = {int(nid): str(state) for nid, state in session.execute(q)}
        for nid in ids:
            if nid not in found:
                raise NotDead(f"no notification {nid}")
            if found[nid] != "dead":
                raise NotDead(
                    f"notification {nid} is {found[nid]}, not dead: only dead ones are retried"
                )
    wanted = select(Notification.id).where(Notification.state == "dead")
    if ids is not None:
        wanted = wanted.where(Notification.id.in_(ids))
    revived = sorted(session.scalars(wanted.with_for_update()))
    if revived:
        # Conditional on dead: a row another process revived and sent meanwhile is left be.
        session.execute(
            update(Notification)
            .where(Notification.id.in_(revived), Notification.state == "dead")
            .values(state="pending", attempts=0, next_attempt_at=now)
        )
        digest.revived(session, revived)
    return revived


def revive_now(sessions: sessionmaker[Session], ids: Sequence[int] | None) -> list[int]:
    """``revive`` in one transaction of its own, due now: ``watcher notifications retry``."""
    with sessions.begin() as session:
        return revive(session, ids, utcnow())
