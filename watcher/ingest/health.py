"""A source's health: ok, failing or stale, and the ops notices sent when it changes.

A source turns ``failing`` after ``failing_after`` failed checks in a row and ``ok`` again on
its next success; it turns ``stale`` when nothing succeeded for ``stale_after``. Each move is
told to the ops routes (watcher.ingest.ops repeats a notice while the problem lasts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watcher.config import Config, RouteConfig, SourceConfig, parse_duration
from watcher.storage import store
from watcher.storage.models import ChangeRow, Notification, Source, utcnow


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


def is_stale(source: Source, cfg: SourceConfig, now: datetime) -> bool:
    since = source.last_success_at or source.created_at
    return now - since > timedelta(seconds=parse_duration(cfg.stale_after))


def update_staleness(
    session: Session,
    source: Source,
    cfg: SourceConfig,
    routes: Sequence[RouteConfig],
    now: datetime | None = None,
) -> bool:
    """Mark the source stale when nothing succeeded for stale_after; True if it is stale."""
    now = now or utcnow()
    if not is_stale(source, cfg, now):
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


def _ops(
    session: Session, routes: Sequence[RouteConfig], source: Source, event: str, text: str
) -> None:
    if not any(route.ops for route in routes):
        return
    from watcher.ingest.ops import queue_ops

    queue_ops(session, routes, source=source, event=event, text=text, now=utcnow())


SOURCE_STATES = ("ok", "failing", "stale", "quarantined")


def current_state(session: Session, source: Source, cfg: SourceConfig | None, now: datetime) -> str:
    """What `watcher status` and the daemon's watcher_source_state gauge say: one of
    SOURCE_STATES for a configured source that has been checked (``never checked`` before
    its first check: its history may have been imported). A page held back by the guard
    comes first, then failing, then stale. A stored source the config does not name
    (``cfg`` None) is ``imported`` (never checked) or ``not in config``."""
    latest = store.latest_snapshot(session, source.id)
    if latest is not None and latest.state == "quarantined":
        return "quarantined"
    if cfg is None:
        return "imported" if source.last_check_at is None else "not in config"
    if source.state == "failing" or (
        # Failing from its first check on: before failing_after it is not "ok" either.
        source.last_success_at is None and source.failures_in_row > 0
    ):
        return "failing"
    if source.last_check_at is None and source.last_success_at is None:
        return "never checked"
    if is_stale(source, cfg, now):
        return "stale"
    return source.state


def _last_change(session: Session, source: Source) -> datetime | None:
    """The later of the last change a check saw and the last change stored (imports too)."""
    stored = session.scalar(
        select(func.max(ChangeRow.detected_at)).where(ChangeRow.source_id == source.id)
    )
    seen = [t for t in (source.last_change_at, stored) if t is not None]
    return max(seen, default=None)


def source_states(
    session: Session,
    config: Config,
    now: datetime | None = None,
    only: str | None = None,
) -> dict[str, str | None]:
    """Each configured source's current state (or only that of ``only``); None for one with
    no stored row yet."""
    now = now or utcnow()
    states: dict[str, str | None] = {}
    for cfg in config.sources:
        if only is not None and cfg.name != only:
            continue
        source = store.get_source(session, cfg.name)
        states[cfg.name] = current_state(session, source, cfg, now) if source else None
    return states


STATUS_FIELDS = (
    "source",
    "state",
    "last_check",
    "last_success",
    "last_change",
    "failures_in_row",
    "pending",
    "dead",
)


def status_rows(
    session: Session, config: Config, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per configured source: its state and timestamps, and its undelivered notifications;
    then each stored source the config does not name (``watcher import``, ``backfill``, or a
    source since removed), which nothing checks: ``imported``, or ``not in config``."""
    from watcher.audit.queries import iso

    now = now or utcnow()
    rows = []
    configured = {cfg.name for cfg in config.sources}
    others = session.scalars(
        select(Source).where(Source.name.not_in(configured)).order_by(Source.name)
    ).all()
    entries: list[tuple[SourceConfig | None, Source | None]] = [
        (cfg, store.get_source(session, cfg.name)) for cfg in config.sources
    ] + [(None, source) for source in others]
    for cfg, source in entries:
        if cfg is not None and source is None:
            rows.append(
                {
                    "source": cfg.name,
                    "state": "never checked",
                    "failures_in_row": 0,
                    "pending": 0,
                    "dead": 0,
                    "last_check": None,
                    "last_success": None,
                    "last_change": None,
                }
            )
            continue
        assert source is not None
        state = current_state(session, source, cfg, now)
        counts: dict[str, int] = {
            state: int(n)
            for state, n in session.execute(
                select(Notification.state, func.count())
                .where(Notification.source_id == source.id)
                .group_by(Notification.state)
            )
        }
        rows.append(
            {
                "source": source.name,
                "state": state,
                "last_check": iso(source.last_check_at),
                "last_success": iso(source.last_success_at),
                # A check records its last change; imported history has one all the same.
                "last_change": iso(_last_change(session, source)),
                "failures_in_row": source.failures_in_row,
                "pending": counts.get("pending", 0) + counts.get("sending", 0),
                "dead": counts.get("dead", 0),
            }
        )
    return rows
