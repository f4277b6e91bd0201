"""Dead letters: a notification given up on is marked dead and, when it was a change
notification, a digest or an ops notice, told to the other ops routes. (``watcher.delivery.mend``
revives dead ones when an operator asks.)"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from watcher.delivery import ops
from watcher.storage.models import Notification, Source

if TYPE_CHECKING:
    from watcher.config import Config


def bury(
    session: Session, config: Config, n: Notification, error: str | None, at: datetime
) -> None:
    """Mark ``n`` dead for ``error`` and queue the ops notice about it."""
    n.state, n.next_attempt_at = "dead", None
    # Test messages fail in front of the person who sent them. A dead ops notice is told to
    # the other ops routes; the dedupe in watcher.delivery.ops bounds any ping-pong.
    if n.kind not in ("changes", "ops", "digest"):
        return
    ops.queue_ops(
        session,
        config.routes,
        source=session.get(Source, n.source_id) if n.source_id else None,
        event="dead",
        text=f"notification {n.id} on route {n.route} could not be delivered: {error}",
        now=at,
        about=n.route,
        ref=str(n.id),
        exclude=(n.route,),
    )
