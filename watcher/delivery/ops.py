"""Ops notices: problems of the watcher itself, told to the routes marked ``ops = true``.

Each notice is about a *topic*, one problem of one source ("azure-mi:checks",
"azure-mi:format", "azure-mi:delivery:team-slack"). A notice is queued when the topic's
state changes (failing, then recovered; quarantined, then reformatted) and, while a problem
lasts, the same event is repeated no more often than the route's ``repeat_every``. A
resolving event (recovered, reformatted) is sent only if a problem of its topic was
reported and not yet resolved, so a single failed check that the next one fixes makes no
noise. The state is the outbox itself: the ops notifications of a (route, topic) say what
was told and when; nothing else needs storing.

``queue_ops`` writes outbox rows in the caller's transaction, like the change notices; the
callers are the pipeline (quarantined, reformatted), watcher.ingest.health (failing, stale,
recovered) and the dispatcher (dead notifications).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from watcher.domain.times import utcnow
from watcher.storage import store
from watcher.storage.models import Notification, Source

if TYPE_CHECKING:
    from watcher.config import RouteConfig

# event -> (topic family, resolves the family's problem?). Failing and stale are two faces
# of one problem (checks do not succeed) and one success ends both.
EVENTS: dict[str, tuple[str, bool]] = {
    "quarantined": ("format", False),
    "reformatted": ("format", True),
    "failing": ("checks", False),
    "stale": ("checks", False),
    "recovered": ("checks", True),
    "dead": ("delivery", False),
}
RESOLVING = frozenset(e for e, (_, resolves) in EVENTS.items() if resolves)


def _key(route: str, topic: str, event: str, ref: str) -> str:
    key = f"ops:{route}:{topic}:{event}:{ref}"
    if len(key) <= 300:
        return key
    # Long source or route names: keep the key unique and within the column.
    return f"ops:{hashlib.sha256(key.encode('utf-8', 'replace')).hexdigest()}"


def _source(session: Session, source: Source | str | None) -> Source | None:
    if source is None or isinstance(source, Source):
        return source
    return store.get_source(session, source)


def _notices(session: Session, route: str, topic: str, since: datetime) -> list[Notification]:
    """The route's notices on a topic since a time, and the last one before it; newest first."""
    q = (
        select(Notification)
        .where(Notification.kind == "ops", Notification.route == route)
        .where(Notification.topic == topic)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    recent = list(session.scalars(q.where(Notification.created_at >= since)))
    older = session.scalars(q.where(Notification.created_at < since).limit(1)).first()
    return recent + ([older] if older is not None else [])


def should_tell(
    notices: Sequence[Notification], event: str, now: datetime, repeat: timedelta
) -> bool:
    """The dedupe rule, given a route's notices on the topic, newest first."""
    events = [str(n.payload.get("event")) for n in notices]
    if event in RESOLVING:
        # Only when a problem was told and not resolved since.
        return bool(events) and events[0] not in RESOLVING
    for n, told in zip(notices, events, strict=True):
        if told in RESOLVING:
            return True  # the problem had ended: this is a new one
        if told == event:
            return now - n.created_at >= repeat
    return True


def queue_ops(
    session: Session,
    routes: Sequence[RouteConfig],
    *,
    source: Source | str | None,
    event: str,
    text: str,
    now: datetime | None = None,
    about: str | None = None,
    ref: str | None = None,
    exclude: Collection[str] = (),
    snapshot_id: int | None = None,
) -> int:
    """Queue an ops notice for every ops route that should hear it now; returns how many.

    ``about`` narrows the topic (the route of a dead notification); ``ref`` makes the
    idempotency key of one occurrence (a snapshot id), so that the same occurrence is never
    queued twice; ``exclude`` names routes not to tell (the route that just failed).
    """
    now = now or utcnow()
    src = _source(session, source)
    name = src.name if src is not None else (source if isinstance(source, str) else None)
    family = EVENTS.get(event, (event, False))[0]
    topic = f"{name or 'watcher'}:{family}" + (f":{about}" if about else "")
    queued = 0
    for route in routes:
        if not route.ops or route.name in exclude:
            continue
        if route.sources and name is not None and name not in route.sources:
            continue
        repeat = timedelta(seconds=route.repeat_seconds)
        if not should_tell(_notices(session, route.name, topic, now - repeat), event, now, repeat):
            continue
        added = store.queue_notification(
            session,
            Notification(
                idempotency_key=_key(route.name, topic, event, ref or now.isoformat()),
                route=route.name,
                channel=route.channel,
                kind="ops",
                source_id=src.id if src is not None else None,
                to_snapshot_id=snapshot_id,
                topic=topic,
                created_at=now,
                payload={"event": event, "text": text, "source": name},
            ),
        )
        if added:
            # Later calls in the same transaction must see this notice when they dedupe.
            session.flush()
        queued += int(added)
    return queued
