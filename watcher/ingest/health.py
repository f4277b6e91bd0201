"""Recording a source's health: ok, failing or stale, and the ops notices sent when it changes.

A source turns ``failing`` after ``failing_after`` failed checks in a row and ``ok`` again on
its next success; it turns ``stale`` when nothing succeeded for ``stale_after``. Each move is
told to the ops routes (watcher.delivery.ops repeats a notice while the problem lasts). What
``watcher status`` says of a source is watcher.audit.status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from watcher.config import parse_duration
from watcher.domain.health import is_stale
from watcher.domain.times import utcnow
from watcher.storage import store
from watcher.storage.models import Source

if TYPE_CHECKING:
    from watcher.config import Config, RouteConfig, SourceConfig


def update_health(
    session: Session,
    source: Source,
    cfg: SourceConfig,
    routes: Sequence[RouteConfig],
    *,
    ok: bool,
    changed: bool,
    error: str | None = None,
) -> None:
    """Count one check and move the source between ok and failing."""
    store.mark_checked(session, source, ok=ok, changed=changed)
    if ok and source.state != "ok":
        previous = source.state
        source.state = "ok"
        _ops(session, routes, source, "recovered", f"{source.name} recovered (was {previous})")
    elif not ok and source.failures_in_row >= cfg.failing_after:
        source.state = "failing"
        _ops(
            session,
            routes,
            source,
            "failing",
            f"{source.name} failed {source.failures_in_row} checks in a row: {error}",
        )


def update_staleness(
    session: Session,
    source: Source,
    cfg: SourceConfig,
    routes: Sequence[RouteConfig],
    now: datetime | None = None,
) -> bool:
    """Mark the source stale when nothing succeeded for stale_after; True if it is stale."""
    now = now or utcnow()
    stale_after = timedelta(seconds=parse_duration(cfg.stale_after))
    if not is_stale(source.last_success_at, source.created_at, stale_after, now):
        return False
    if source.state == "ok":
        source.state = "stale"
    last = source.last_success_at.isoformat() if source.last_success_at else "never"
    _ops(
        session,
        routes,
        source,
        "stale",
        f"{source.name} has had no successful check since {last} (stale after {cfg.stale_after})",
    )
    return True


def sweep_staleness(sessions: sessionmaker[Session], config: Config) -> list[str]:
    """Judge every configured source's staleness now, in one transaction; the names of the
    stale ones (the daemon's sweep between checks)."""
    stale: list[str] = []
    now = utcnow()
    with sessions.begin() as session:
        for cfg in config.sources:
            # Locked: a check that succeeds meanwhile either waits for this verdict (and
            # then announces its recovery) or is seen by it, never overwritten by it.
            source = store.get_source(session, cfg.name, for_update=True)
            if source is not None and update_staleness(session, source, cfg, config.routes, now):
                stale.append(cfg.name)
    return stale


def _ops(
    session: Session, routes: Sequence[RouteConfig], source: Source, event: str, text: str
) -> None:
    if not any(route.ops for route in routes):
        return
    from watcher.delivery.ops import queue_ops

    queue_ops(session, routes, source=source, event=event, text=text, now=utcnow())
