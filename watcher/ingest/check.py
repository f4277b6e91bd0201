"""One check of one source: lease, fetch, then store what the page came to. Never raises.

Most checks find the page as it was. That case (the same body as the latest accepted
snapshot, or a 304 for it, on a healthy source whose config has not moved) is settled here
on the raw driver connection, in one transaction: the fetch attempts and the source's
success. Everything else (a new page, a failure, a quarantine, a recovery) goes through
``watcher.ingest.pipeline``, imported only then, so a cron run that finds nothing new never loads
SQLAlchemy, the parser or the differ.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from watcher import journal
from watcher.domain.guard import GuardPolicy
from watcher.domain.outcome import Outcome
from watcher.ingest.fetch import FetchError, FetchPolicy, FetchResult, Validators, fetch
from watcher.storage.connections import Conn, Database
from watcher.storage.lease import lease, new_holder

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from watcher.config import RouteConfig, SourceConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Known:
    """What the database says about a source before its check."""

    source_id: int
    url: str
    format: str
    state: str
    last_check_at: datetime | None
    snapshot_id: int | None
    sha256: str | None
    snapshot_state: str | None
    etag: str | None
    last_modified: str | None


def known(conn: Conn, name: str) -> Known | None:
    try:
        source = conn.one(
            "SELECT id, url, format, state, last_check_at FROM sources WHERE name = ?", (name,)
        )
        if source is None:
            return None
        latest = conn.one(
            "SELECT id, sha256, state, etag, last_modified FROM snapshots WHERE source_id = ? "
            "AND state <> 'rejected' ORDER BY taken_at DESC, id DESC LIMIT 1",
            (source[0],),
        )
    finally:
        conn.end_read()
    snap = latest or (None, None, None, None, None)
    return Known(source[0], source[1], source[2], source[3], Conn.time(source[4]), *snap)


def settle_unchanged(
    conn: Conn, cfg: SourceConfig, seen: Known, result: FetchResult | FetchError
) -> Outcome | None:
    """Record a check that found the stored page again; None if it needs the full pipeline."""
    if isinstance(result, FetchError) or seen.snapshot_state != "accepted":
        return None
    if seen.state != "ok" or (seen.url, seen.format) != (cfg.url, cfg.format):
        return None  # a recovery to announce, or a source to update: the pipeline does that
    if result.not_modified:
        outcome = Outcome(cfg.name, "not_modified")
    elif hashlib.sha256(result.body).hexdigest() == seen.sha256:
        outcome = Outcome(cfg.name, "unchanged", seen.snapshot_id)
    else:
        return None
    now = conn.stamp(datetime.now(UTC))
    try:
        with conn.transaction():
            # What store.mark_checked does for a successful check without a change, but only
            # if the source is as it was read before the fetch: a staleness sweep, an import
            # or an acceptance meanwhile sends the check through the pipeline after all. The
            # UPDATE comes first so that, on PostgreSQL, it waits for any writer of the row.
            updated = conn.execute(
                "UPDATE sources SET last_check_at = ?, last_success_at = ?, failures_in_row = 0 "
                "WHERE id = ? AND state = 'ok' AND url = ? AND format = ?",
                (now, now, seen.source_id, cfg.url, cfg.format),
            )
            rows = updated.rowcount
            updated.close()
            latest = conn.one(
                "SELECT id, state FROM snapshots WHERE source_id = ? AND state <> 'rejected' "
                "ORDER BY taken_at DESC, id DESC LIMIT 1",
                (seen.source_id,),
            )
            if rows != 1 or latest != (seen.snapshot_id, "accepted"):
                raise _Moved
            for a in result.attempts:
                conn.execute(
                    "INSERT INTO fetches (source_id, started_at, url, attempt, status_code, "
                    "bytes, duration_ms, outcome, error) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)",
                    (
                        seen.source_id,
                        conn.stamp(datetime.fromtimestamp(a.started_at, UTC)),
                        a.url,
                        a.status_code,
                        a.bytes,
                        a.duration_ms,
                        a.outcome,
                        a.error,
                    ),
                ).close()
    except _Moved:
        return None
    return outcome


class _Moved(Exception):
    """The source changed between the first read and the write: roll back, use the pipeline."""


def check_source(
    db: Database | Engine,
    client: httpx.Client,
    cfg: SourceConfig,
    routes: Sequence[RouteConfig] = (),
    *,
    policy: FetchPolicy | None = None,
    guard: GuardPolicy | None = None,
    dry_run: bool = False,
    min_gap: float | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> Outcome:
    """Fetch, parse, guard and store one source under its lease. Records failures; never raises.

    ``min_gap`` (seconds) makes a check that another instance completed that recently count
    for this tick too: two daemons on one database fetch once per tick, not twice.
    ``guard`` defaults to the source's ``[sources.guard]`` settings. Every check but a dry
    run is told to the journal (watcher.journal).
    """
    outcome = _check(db, client, cfg, routes, policy, guard, dry_run, min_gap, sleep)
    if not dry_run:
        journal.check(outcome)
    return outcome


def _check(
    db: Database | Engine,
    client: httpx.Client,
    cfg: SourceConfig,
    routes: Sequence[RouteConfig],
    policy: FetchPolicy | None,
    guard: GuardPolicy | None,
    dry_run: bool,
    min_gap: float | None,
    sleep: Callable[[float], object],
) -> Outcome:
    database = Database.of(db)
    policy = policy or FetchPolicy(
        read_timeout=cfg.timeout, max_bytes=cfg.max_bytes, attempts=cfg.attempts
    )
    try:
        ttl = timedelta(seconds=policy.deadline + 60)
        with database.raw() as conn, lease(conn, cfg.name, ttl, new_holder()) as held:
            if not held:
                return Outcome(cfg.name, "skipped", detail="another process is checking it now")
            seen = known(conn, cfg.name)
            if min_gap is not None and seen is not None and seen.last_check_at is not None:
                ago = (datetime.now(UTC) - seen.last_check_at).total_seconds()
                if 0 <= ago < min_gap:
                    return Outcome(cfg.name, "skipped", detail=f"checked {ago:.1f}s ago")
            validators = Validators(seen.etag, seen.last_modified) if seen else Validators()
            result = fetch(client, cfg.url, cfg.format, validators, policy, sleep=sleep)
            for a in result.attempts:
                log.debug(
                    "fetch %s: %s: %s, %d bytes in %d ms%s",
                    cfg.name,
                    a.url,
                    a.status_code or "no answer",
                    a.bytes or 0,
                    a.duration_ms,
                    f": {a.error}" if a.error else "",
                )
            if seen is not None and not dry_run:
                settled = settle_unchanged(conn, cfg, seen, result)
                if settled is not None:
                    return settled
            from watcher.ingest.pipeline import store_fetched
            from watcher.storage.engine import session_factory

            sessions = session_factory(database.engine)
            policy_of_guard = guard if guard is not None else cfg.guard.policy()
            return store_fetched(sessions, cfg, result, routes, policy_of_guard, dry_run=dry_run)
    except Exception as exc:
        log.exception("check of %s failed", cfg.name)
        message = f"{type(exc).__name__}: {exc}"
        if not dry_run:
            _record_failure(database, cfg, routes, message)
        return Outcome(cfg.name, "failed", error=message)


def _record_failure(
    database: Database, cfg: SourceConfig, routes: Sequence[RouteConfig], message: str
) -> None:
    try:
        from watcher.ingest.pipeline import record_failure
        from watcher.storage.engine import session_factory

        record_failure(session_factory(database.engine), cfg, routes, message)
    except Exception:
        log.exception("could not record the failure of %s", cfg.name)
