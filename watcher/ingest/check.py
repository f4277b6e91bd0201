"""The check: ``run_checks`` is its one entry point, for cron, the daemon and the demo alike.

Each check holds its source's lease (watcher.storage.lease) and fetches the page
(watcher.ingest.fetch), then takes one of two paths:

- the fast path. Most checks find the page as it was: the same body as the latest accepted
  snapshot, or a 304 for it, on a healthy source whose config has not moved. That is
  settled here on the raw driver connection, in one transaction: the fetch log and the
  source's success (watcher.storage.checks).
- the full path. Everything else (a new page, a quarantine, a recovery) goes through
  ``watcher.ingest.pipeline``, imported only then, so a cron run that finds nothing new never
  loads SQLAlchemy, the parser or the differ.

A failed fetch, or anything that goes wrong on either path, is recorded in one place,
``_failed``. A check never raises; every check but a dry run is told to the journal.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from watcher import journal
from watcher.domain.outcome import Outcome
from watcher.ingest.fetch import (
    Attempt,
    FetchError,
    FetchPolicy,
    FetchResult,
    Validators,
    fetch,
    make_client,
)
from watcher.storage.checks import Known, known, latest_kept, mark_checked, record_fetches
from watcher.storage.connections import Conn, Database
from watcher.storage.lease import holder_of, lease, new_holder

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from watcher.config import RouteConfig, SourceConfig
    from watcher.domain.guard import GuardPolicy

log = logging.getLogger(__name__)

# Checks at once on an engine's pool (5 + 10 overflow): each holds a connection and may need a
# second for the full path, so more threads than this could wait on each other.
POOLED_JOBS = 10


@dataclass(frozen=True)
class CheckOptions:
    """How the checks of one run go.

    ``policy`` defaults to each source's timeout, size cap and attempts, ``guard`` to its
    ``[sources.guard]`` settings. ``min_gap`` (seconds) makes a check that another instance
    completed that recently count for this tick too: two daemons on one database fetch once
    per tick, not twice. ``sleep`` waits between retries (the daemon's ends on shutdown).
    ``page_dated`` stores each new page at its own ms.date, as ``watcher import`` does,
    rather than at the time of the check: the demo replays the page's history this way.
    """

    policy: FetchPolicy | None = None
    guard: GuardPolicy | None = None
    dry_run: bool = False
    min_gap: float | None = None
    sleep: Callable[[float], object] = time.sleep
    page_dated: bool = False


def run_checks(
    db: Database | Engine,
    sources: Sequence[SourceConfig],
    routes: Sequence[RouteConfig] = (),
    *,
    client: httpx.Client | None = None,
    jobs: int = 1,
    options: CheckOptions = CheckOptions(),
) -> list[Outcome]:
    """Check each source once, up to ``jobs`` at a time; the outcomes in the order of
    ``sources``, whatever order the checks finish in. ``client`` is made for the run when
    none is given (the daemon keeps one for its life)."""
    database = Database.of(db)
    if not database.direct:
        jobs = min(jobs, POOLED_JOBS)
    with contextlib.ExitStack() as stack:
        http = client if client is not None else stack.enter_context(make_client())

        def one(cfg: SourceConfig) -> Outcome:
            return _told(_check(database, http, cfg, routes, options), options)

        if jobs == 1 or len(sources) <= 1:
            return [one(cfg) for cfg in sources]
        # Threads: a check mostly waits on the network or the database.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="check") as pool:
            return list(pool.map(one, sources))


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
    """One check of one source, as ``run_checks`` makes it (see CheckOptions)."""
    options = CheckOptions(policy, guard, dry_run, min_gap, sleep)
    return _told(_check(Database.of(db), client, cfg, routes, options), options)


def _told(outcome: Outcome, options: CheckOptions) -> Outcome:
    if not options.dry_run:
        journal.check(outcome)
    return outcome


def _check(
    database: Database,
    client: httpx.Client,
    cfg: SourceConfig,
    routes: Sequence[RouteConfig],
    options: CheckOptions,
) -> Outcome:
    """Lease, fetch, then the fast path or the full path; a failure recorded by ``_failed``."""
    policy = options.policy or FetchPolicy(
        read_timeout=cfg.timeout, max_bytes=cfg.max_bytes, attempts=cfg.attempts
    )
    requests: tuple[Attempt, ...] = ()
    try:
        ttl = timedelta(seconds=policy.deadline + 60)
        with database.raw() as conn, lease(conn, cfg.name, ttl, new_holder()) as held:
            if not held:
                return Outcome(cfg.name, "skipped", detail=str(holder_of(conn, cfg.name)))
            seen = known(conn, cfg.name)
            ago = _checked_ago(seen)
            if options.min_gap is not None and ago is not None and 0 <= ago < options.min_gap:
                return Outcome(cfg.name, "skipped", detail=f"checked {ago:.1f}s ago")
            validators = Validators(seen.etag, seen.last_modified) if seen else Validators()
            result = fetch(client, cfg.url, cfg.format, validators, policy, sleep=options.sleep)
            requests = result.attempts
            _log_requests(cfg.name, requests)
            if isinstance(result, FetchError):
                return _failed(database, cfg, routes, options, result.message, requests)
            if seen is not None and not options.dry_run:
                settled = settle_unchanged(conn, cfg, seen, result)
                if settled is not None:
                    return settled
            return _full_path(database, cfg, routes, options, result)
    except Exception as exc:
        log.exception("check of %s failed", cfg.name)
        return _failed(database, cfg, routes, options, f"{type(exc).__name__}: {exc}", requests)


def _checked_ago(seen: Known | None) -> float | None:
    """Seconds since the source's last check completed, by whichever instance."""
    if seen is None or seen.last_check_at is None:
        return None
    return (datetime.now(UTC) - seen.last_check_at).total_seconds()


def _log_requests(name: str, requests: Sequence[Attempt]) -> None:
    for a in requests:
        log.debug(
            "fetch %s: %s: %s, %d bytes in %d ms%s",
            name,
            a.url,
            a.status_code or "no answer",
            a.bytes or 0,
            a.duration_ms,
            f": {a.error}" if a.error else "",
        )


def settle_unchanged(
    conn: Conn, cfg: SourceConfig, seen: Known, result: FetchResult | FetchError
) -> Outcome | None:
    """The fast path: record a check that found the stored page again, in one transaction
    on the driver connection; None if it needs the full path after all."""
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
    try:
        with conn.transaction():
            # Counted only if the source is as it was read before the fetch: a staleness
            # sweep, an import or an acceptance meanwhile sends the check through the
            # pipeline after all. The UPDATE comes first so that, on PostgreSQL, it waits
            # for any writer of the row.
            counted = mark_checked(
                conn, seen.source_id, datetime.now(UTC), ok=True, as_read=(cfg.url, cfg.format)
            )
            latest = latest_kept(conn, seen.source_id)
            if not counted or latest is None or latest[:2] != (seen.snapshot_id, "accepted"):
                raise _Moved
            record_fetches(conn, seen.source_id, result.attempts, seen.snapshot_id)
    except _Moved:
        return None
    return outcome


class _Moved(Exception):
    """The source changed between the first read and the write: roll back, use the pipeline."""


def _full_path(
    database: Database,
    cfg: SourceConfig,
    routes: Sequence[RouteConfig],
    options: CheckOptions,
    result: FetchResult,
) -> Outcome:
    """A page that is not simply the one stored: parse, guard, store, diff, alert."""
    from watcher.ingest.pipeline import store_fetched
    from watcher.storage.engine import session_factory

    guard = options.guard if options.guard is not None else cfg.guard.policy()
    sessions = session_factory(database.engine)
    return store_fetched(
        sessions, cfg, result, routes, guard, dry_run=options.dry_run, page_dated=options.page_dated
    )


def _failed(
    database: Database,
    cfg: SourceConfig,
    routes: Sequence[RouteConfig],
    options: CheckOptions,
    message: str,
    requests: Sequence[Attempt],
) -> Outcome:
    """The one place a failed check is recorded: its requests in the fetch log and one more
    failure on the source, which the ops routes hear of when the source turns failing. A
    dry run records nothing."""
    if not options.dry_run:
        try:
            from watcher.ingest.pipeline import record_failure
            from watcher.storage.engine import session_factory

            record_failure(session_factory(database.engine), cfg, routes, message, requests)
        except Exception:
            log.exception("could not record the failure of %s", cfg.name)
    return Outcome(cfg.name, "failed", error=message)
