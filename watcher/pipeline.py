"""The ingest step shared by check, import, backfill and demo, and the rest of a check.

Ingest writes the snapshot, its records, its changes and its outbox rows in the caller's
transaction, so either all of it is stored or none. ``store_fetched`` is what a check
(watcher.check) does after its fetch when the page is not simply the one stored: every
attempt recorded, the page ingested, the source's health moved, in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from watcher import routes as routing
from watcher import store
from watcher.config import RouteConfig, SourceConfig
from watcher.diff import diff
from watcher.document import Change, Document
from watcher.fetch import FetchError, FetchResult
from watcher.guard import GuardPolicy, judge
from watcher.health import update_health
from watcher.models import Fetch, Notification, Snapshot, Source, utcnow
from watcher.ops import queue_ops
from watcher.outcome import Outcome, Result
from watcher.parse import PARSER_VERSION, parse

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Page:
    """A body to store as a snapshot, with where and when it came from."""

    body: bytes
    taken_at: datetime
    origin: Literal["fetch", "import", "backfill"]
    url: str | None = None
    origin_ref: str | None = None
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None


class OutOfOrder(Exception):
    """A page older than the source's latest snapshot: history is stored oldest first."""


def sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def ingest(
    session: Session,
    source: Source,
    page: Page,
    *,
    fmt: Literal["markdown", "html", "auto"] = "auto",
    routes: Sequence[RouteConfig] = (),
    notify: bool = True,
    guard: GuardPolicy = GuardPolicy(),
    document: Document | None = None,
) -> Outcome:
    """Store one page of a source unless it is the same as the latest; diff and queue alerts."""
    digest = sha256(page.body)
    latest = store.latest_snapshot(session, source.id)
    if latest is not None and latest.sha256 == digest:
        if latest.state == "quarantined":
            return _confirm(session, source, latest, routes=routes, notify=notify, guard=guard)
        return Outcome(source.name, "unchanged", latest.id)
    if latest is not None and page.taken_at <= latest.taken_at:
        # Re-importing history (or a backfill run twice) finds what it already stored.
        known = store.snapshot_with_sha(session, source.id, digest)
        if known is not None:
            return Outcome(source.name, "unchanged", known.id, detail="already stored")
    if latest is not None and page.taken_at < latest.taken_at:
        raise OutOfOrder(
            f"{page.taken_at.isoformat()} is older than the latest snapshot of "
            f"{source.name} ({latest.taken_at.isoformat()}); store history oldest first"
        )

    doc = document if document is not None else parse(page.body, fmt, page.content_type)
    previous = (
        latest
        if latest is None or latest.state == "accepted"
        else store.latest_snapshot(session, source.id, state="accepted")
    )
    previous_doc = store.load_document(session, previous) if previous is not None else None
    verdict = judge(previous_doc, doc, guard)
    if (
        not verdict.accepted
        and page.origin != "fetch"  # a live page must be seen again as it is (confirmations)
        and latest is not None
        and latest.state == "quarantined"
    ):
        pending = store.load_document(session, latest)
        if pending.records and judge(pending, doc, guard).accepted:
            # In history (imports, backfills: one body is never seen twice) a later version in
            # the quarantined page's new format confirms that format: accept it, then diff
            # this version against it as usual.
            accept(
                session,
                source,
                latest,
                routes=routes,
                notify=notify,
                reason="confirmed by a later version in the same format",
            )
            previous, previous_doc, verdict = latest, pending, judge(pending, doc, guard)
    snapshot = store.add_snapshot(
        session,
        Snapshot(
            source_id=source.id,
            taken_at=page.taken_at,
            sha256=digest,
            body=page.body,
            url=page.url,
            content_type=page.content_type,
            etag=page.etag,
            last_modified=page.last_modified,
            parser_version=PARSER_VERSION,
            format=fmt,
            title=doc.title,
            doc_date=doc.ms_date,
            origin=page.origin,
            origin_ref=page.origin_ref,
            state="accepted" if verdict.accepted else "quarantined",
            reason=verdict.reason,
            confirmations=0,
        ),
        doc,
    )
    if not verdict.accepted:
        queued = _queue_ops(session, source, snapshot, routes) if notify else 0
        return Outcome(
            source.name,
            "quarantined",
            snapshot.id,
            notifications=queued,
            detail=verdict.reason or "",
        )
    if previous_doc is None:
        return Outcome(source.name, "baseline", snapshot.id, detail=f"{len(doc.records)} records")
    changes = diff(previous_doc, doc)
    return _record_changes(session, source, previous, snapshot, changes, routes, notify)


def accept(
    session: Session,
    source: Source,
    snapshot: Snapshot,
    *,
    routes: Sequence[RouteConfig] = (),
    notify: bool = True,
    reason: str = "accepted by an operator",
) -> Outcome:
    """Accept a quarantined snapshot as the page's new format: one format_changed event.

    Its cells are not diffed into alerts against the old format (that would be hundreds of
    false removals); it becomes the baseline the next versions are diffed against.
    """
    if snapshot.state != "quarantined":
        raise ValueError(f"snapshot {snapshot.id} is {snapshot.state}, not quarantined")
    newest = store.latest_snapshot(session, source.id, state="accepted")
    if newest is not None and (newest.taken_at, newest.id) > (snapshot.taken_at, snapshot.id):
        raise ValueError(
            f"snapshot {snapshot.id} is older than accepted snapshot {newest.id}: "
            "only a page newer than the accepted history can become its new format"
        )
    previous = store.latest_snapshot_before(session, source.id, snapshot, state="accepted")
    snapshot.state = "accepted"
    change = Change(
        kind="format_changed",
        severity="warning",
        section="",
        entity="",
        old_raw=f"{previous.record_count} records" if previous is not None else None,
        new_raw=f"{snapshot.record_count} records; {reason}; quarantined because "
        f"{snapshot.reason or 'it did not look like the page'}",
    )
    outcome = _record_changes(session, source, previous, snapshot, [change], routes, notify)
    ops_queued = 0
    if notify:
        ops_queued = queue_ops(
            session,
            routes,
            source=source,
            event="reformatted",
            text=f"{source.name}: snapshot {snapshot.id} accepted as the page's new format "
            f"({reason}); later changes are diffed against it.",
            now=utcnow(),
            ref=f"snapshot-{snapshot.id}",
            snapshot_id=snapshot.id,
        )
    return Outcome(
        source.name,
        "accepted",
        snapshot.id,
        outcome.changes,
        outcome.notifications + ops_queued,
        detail=reason,
        from_snapshot_id=outcome.from_snapshot_id,
        queued_routes=outcome.queued_routes,
        change_list=outcome.change_list,
    )


def _confirm(
    session: Session,
    source: Source,
    snapshot: Snapshot,
    *,
    routes: Sequence[RouteConfig],
    notify: bool,
    guard: GuardPolicy,
) -> Outcome:
    snapshot.confirmations += 1
    if snapshot.confirmations < guard.confirmations:
        return Outcome(
            source.name,
            "quarantined",
            snapshot.id,
            detail=f"seen again ({snapshot.confirmations} of {guard.confirmations} "
            "confirmations needed)",
        )
    return accept(
        session,
        source,
        snapshot,
        routes=routes,
        notify=notify,
        reason=f"confirmed by {snapshot.confirmations} later checks",
    )


def _record_changes(
    session: Session,
    source: Source,
    previous: Snapshot | None,
    snapshot: Snapshot,
    changes: Sequence[Change],
    routes: Sequence[RouteConfig],
    notify: bool,
) -> Outcome:
    from_id = previous.id if previous is not None else None
    store.add_changes(session, source.id, from_id, snapshot.id, snapshot.taken_at, changes)
    queued: list[str] = []
    if notify and changes:
        for route in routes:
            picked = routing.select(route, source.name, changes)
            if not picked:
                continue
            added = store.queue_notification(
                session,
                Notification(
                    idempotency_key=f"changes:{route.name}:{from_id}:{snapshot.id}",
                    route=route.name,
                    channel=route.channel,
                    kind="changes",
                    source_id=source.id,
                    from_snapshot_id=from_id,
                    to_snapshot_id=snapshot.id,
                    payload={"positions": picked},
                ),
            )
            if added:
                queued.append(route.name)
    result: Result = "changed" if changes else "unchanged"
    return Outcome(
        source.name,
        result,
        snapshot.id,
        len(changes),
        len(queued),
        from_snapshot_id=from_id,
        queued_routes=tuple(queued),
        change_list=tuple(changes),
    )


def _queue_ops(
    session: Session,
    source: Source,
    snapshot: Snapshot,
    routes: Sequence[RouteConfig],
) -> int:
    return queue_ops(
        session,
        routes,
        source=source,
        event="quarantined",
        text=f"{source.name}: page format changed? snapshot {snapshot.id} "
        f"quarantined: {snapshot.reason}",
        now=utcnow(),
        ref=f"snapshot-{snapshot.id}",
        snapshot_id=snapshot.id,
    )


def store_fetched(
    sessions: sessionmaker[Session],
    cfg: SourceConfig,
    result: FetchResult | FetchError,
    routes: Sequence[RouteConfig],
    guard: GuardPolicy,
    *,
    dry_run: bool = False,
) -> Outcome:
    """Everything after the fetch, in one transaction: attempts, snapshot, diff, alerts, health.

    watcher.check calls this whenever the page is not simply the one already stored.
    """
    document = None
    if isinstance(result, FetchResult) and not result.not_modified:
        # Parsed before the write transaction opens: on SQLite that transaction holds the
        # database's write lock, which the other checks (--jobs, the daemon's threads) wait
        # for, sleeping in steps of up to 100 ms.
        document = parse(result.body, cfg.format, result.content_type)
    with sessions() as session:
        session.begin()
        # Created here, in the transaction a dry run rolls back, so a dry run stores nothing.
        source = store.get_or_create_source(session, cfg.name, cfg.url, cfg.format)
        outcome = _after_fetch(session, source, cfg, result, routes, guard, document)
        update_health(
            session,
            source,
            cfg,
            routes,
            ok=not outcome.failed,
            changed=outcome.changes > 0,
            error=outcome.error,
        )
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return outcome


def record_failure(
    sessions: sessionmaker[Session],
    cfg: SourceConfig,
    routes: Sequence[RouteConfig],
    message: str,
) -> None:
    """Count an unexpected failure against the source, in a transaction of its own."""
    try:
        with sessions.begin() as session:
            source = store.get_or_create_source(session, cfg.name, cfg.url, cfg.format)
            update_health(session, source, cfg, routes, ok=False, changed=False, error=message)
    except Exception:
        log.exception("could not record the failure of %s", cfg.name)


def _after_fetch(
    session: Session,
    source: Source,
    cfg: SourceConfig,
    result: FetchResult | FetchError,
    routes: Sequence[RouteConfig],
    guard: GuardPolicy,
    document: Document | None,
) -> Outcome:
    for attempt in result.attempts:
        session.add(
            Fetch(
                source_id=source.id,
                started_at=datetime.fromtimestamp(attempt.started_at, UTC),
                url=attempt.url,
                status_code=attempt.status_code,
                bytes=attempt.bytes,
                duration_ms=attempt.duration_ms,
                outcome=attempt.outcome,
                error=attempt.error,
            )
        )
    if isinstance(result, FetchError):
        return Outcome(source.name, "failed", error=result.message)
    if result.not_modified:
        latest = store.latest_snapshot(session, source.id)
        if latest is not None and latest.state == "quarantined":
            # The origin says the quarantined body is still what it serves: a confirmation.
            return _confirm(session, source, latest, routes=routes, notify=True, guard=guard)
        return Outcome(source.name, "not_modified")
    page = Page(
        body=result.body,
        taken_at=utcnow(),
        origin="fetch",
        url=result.url,
        content_type=result.content_type,
        etag=result.etag,
        last_modified=result.last_modified,
    )
    return ingest(
        session, source, page, fmt=cfg.format, routes=routes, guard=guard, document=document
    )


def next_import_time(latest: Snapshot | None, wanted: datetime) -> datetime:
    """Make a version that shares its date with the latest one a moment later than it."""
    if latest is None or wanted > latest.taken_at:
        return wanted
    if wanted.date() == latest.taken_at.date():
        return latest.taken_at + timedelta(seconds=1)
    return wanted  # older: ingest refuses it with OutOfOrder
