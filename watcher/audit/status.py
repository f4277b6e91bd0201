"""What ``watcher status`` and the daemon's gauges say of each source: its state (ok,
failing, stale, quarantined, never checked, imported, not in config), its last check,
success and change, and its undelivered notifications.

Recording health as checks run (counting failures, the ops notices) is watcher.ingest.health;
this module only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from watcher.config import parse_duration
from watcher.domain.health import is_stale
from watcher.domain.times import iso, utcnow
from watcher.storage import store
from watcher.storage.lease import claim_over
from watcher.storage.models import ChangeRow, Notification, Source

if TYPE_CHECKING:
    from watcher.config import Config, SourceConfig

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
    stale_after = timedelta(seconds=parse_duration(cfg.stale_after))
    if is_stale(source.last_success_at, source.created_at, stale_after, now):
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
    "held",
    "stuck",
    "dead",
)


def status_rows(
    session: Session, config: Config, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per configured source: its state and timestamps, and its undelivered notifications;
    then each stored source the config does not name (``watcher import``, ``backfill``, or a
    source since removed), which nothing checks: ``imported``, or ``not in config``."""
    now = now or utcnow()
    rows = []
    configured = {cfg.name for cfg in config.sources}
    others = session.scalars(
        select(Source).where(Source.name.not_in(configured)).order_by(Source.name)
    ).all()
    entries: list[tuple[SourceConfig | None, Source | None]] = [
        (cfg, store.get_source(session, cfg.name)) for cfg in config.sources
    ] + [(None, source) for source in others]
    # The routes whose change sets wait now: for a digest, or in quiet hours.
    holding = [r.name for r in config.routes if r.schedule or (r.quiet and r.quiet.until(now))]
    for cfg, source in entries:
        if source is None:
            assert cfg is not None
            rows.append({"source": cfg.name, **_NEVER_STORED})
        else:
            rows.append(_status_row(session, source, cfg, now, holding))
    return rows


# A configured source with no stored row yet.
_NEVER_STORED: dict[str, Any] = {
    "state": "never checked",
    "failures_in_row": 0,
    "pending": 0,
    "held": 0,
    "stuck": 0,
    "dead": 0,
    "last_check": None,
    "last_success": None,
    "last_change": None,
}


def _status_row(
    session: Session,
    source: Source,
    cfg: SourceConfig | None,
    now: datetime,
    holding: Sequence[str] = (),
) -> dict[str, Any]:
    counts: dict[str, int] = {
        state: int(n)
        for state, n in session.execute(
            select(Notification.state, func.count())
            .where(Notification.source_id == source.id)
            .group_by(Notification.state)
        )
    }
    stuck = _stuck(session, source, now)
    held = _held(session, source, holding)
    return {
        "source": source.name,
        "state": current_state(session, source, cfg, now),
        "last_check": iso(source.last_check_at),
        "last_success": iso(source.last_success_at),
        # A check records its last change; imported history has one all the same.
        "last_change": iso(_last_change(session, source)),
        "failures_in_row": source.failures_in_row,
        "pending": counts.get("pending", 0) + counts.get("sending", 0) - stuck - held,
        "held": held,
        "stuck": stuck,
        "dead": counts.get("dead", 0),
    }


def _held(session: Session, source: Source, holding: Sequence[str]) -> int:
    """The source's change sets that wait, pending, for their route's digest (gathered in
    one already, or not yet) or the end of its quiet hours."""
    in_digest = func.coalesce(Notification.topic, "").like("digest:%")
    return int(
        session.scalar(
            select(func.count()).where(
                Notification.source_id == source.id,
                Notification.kind == "changes",
                Notification.state == "pending",
                or_(Notification.route.in_(holding), in_digest),
            )
        )
        or 0
    )


def _stuck(session: Session, source: Source, now: datetime) -> int:
    """The source's rows in ``sending`` that nobody sends any more: the claim's lease is over
    or its process is gone (a dispatcher killed mid-send), until a dispatcher takes them over."""
    claims = session.execute(
        select(Notification.claimed_by, Notification.next_attempt_at).where(
            Notification.source_id == source.id, Notification.state == "sending"
        )
    )
    return sum(claim_over(by, end, now) for by, end in claims)


def last_times(
    session: Session, names: Sequence[str]
) -> dict[str, tuple[datetime | None, datetime | None]]:
    """Each named source's last check and last success (None for one not stored yet): what
    the daemon schedules from and first shows on /metrics."""
    found = {
        s.name: (s.last_check_at, s.last_success_at)
        for s in session.scalars(select(Source).where(Source.name.in_(names)))
    }
    return {name: found.get(name, (None, None)) for name in names}
