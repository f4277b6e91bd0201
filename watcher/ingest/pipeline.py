"""The ingest step shared by check, import, backfill and demo, and the rest of a check.

Ingest writes the snapshot, its records, its changes and its outbox rows in the caller's
transaction, so either all of it is stored or none. ``store_fetched`` is what a check
(watcher.ingest.check) does after its fetch when the page is not simply the one stored: every
attempt recorded, the page ingested, the source's health moved, in one transaction.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from watcher.config import RouteConfig, SourceConfig
from watcher.domain.diff import diff
from watcher.domain.document import Document
from watcher.domain.guard import GuardPolicy, Verdict, judge
from watcher.domain.outcome import Outcome
from watcher.domain.times import utcnow
from watcher.ingest import holds
from watcher.ingest.changeset import record_changes
from watcher.ingest.fetch import FetchError, FetchResult
from watcher.ingest.health import update_health
from watcher.parse import PARSER_VERSION, parse
from watcher.storage import store
from watcher.storage.models import Fetch, Snapshot, Source

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
            return holds.confirm(session, source, latest, routes=routes, notify=notify, guard=guard)
        return Outcome(source.name, "unchanged", latest.id)
    if latest is not None and page.taken_at <= latest.taken_at:
        # Re-importing history (or a backfill run twice) finds what it already stored.
        known = store.snapshot_with_sha(session, source.id, digest)
        if known is not None:
            return Outcome(source.name, "unchanged", known.id, detail="already stored")
    rejected = store.snapshot_with_sha(session, source.id, digest, state="rejected")
    if rejected is not None:
        # An operator decided this page already: it is not the page, however often served.
        queued = 0
        if notify:
            queued = holds.notify_held(
                session, source, rejected, "operator", routes, guard, seen=" and rejected"
            )
        return Outcome(
            source.name,
            "quarantined",
            rejected.id,
            notifications=queued,
            detail=f"the page is snapshot {rejected.id} again, which an operator rejected",
            rejected=True,
        )
    if latest is not None and page.taken_at < latest.taken_at:
        held = (
            f"; snapshot {latest.id} is quarantined: `watcher reject {latest.id}` takes it "
            "out of the way"
            if latest.state == "quarantined"
            else ""
        )
        raise OutOfOrder(
            f"{page.taken_at.isoformat()} is older than the latest snapshot of "
            f"{source.name} ({latest.taken_at.isoformat()}); store history oldest first{held}"
        )

    doc = document if document is not None else parse(page.body, fmt, page.content_type)
    settled: Outcome | None = None
    previous = (
        latest
        if latest is None or latest.state == "accepted"
        else store.latest_snapshot(session, source.id, state="accepted")
    )
    previous_doc = store.load_document(session, previous) if previous is not None else None
    verdict = holds.judge_page(session, source, digest, doc, previous, previous_doc, guard)
    if not verdict.accepted and latest is not None and latest.state == "quarantined":
        held_verdict = holds.held_verdict(session, source, latest, guard)
        pending = store.load_document(session, latest)
        confirmed = None
        if (
            held_verdict.hold == "shape"
            and page.origin != "fetch"  # a live page must be seen again as it is
            and judge(pending, doc, guard).accepted
        ):
            # In history (imports, backfills: one body is never seen twice) a later version in
            # the held page's new format confirms that format.
            confirmed = "confirmed by a later version in the same format"
        elif verdict.confirms(held_verdict):
            # A later, different version still shows the loss (or the additions) the held
            # page had: not a half-rendered page, a real edit. The same bytes never confirm.
            confirmed = "confirmed by a later version showing the same change"
        if confirmed is not None:
            log.info("%s: snapshot %s accepted, %s", source.name, latest.id, confirmed)
            settled = holds.accept(
                session,
                source,
                latest,
                routes=routes,
                notify=notify,
                reason=confirmed,
                guard=guard,
                as_="format" if held_verdict.hold == "shape" else "diff",
            )
            previous, previous_doc = latest, pending
            verdict = holds.judge_page(session, source, digest, doc, previous, previous_doc, guard)
    outcome = _store(session, source, page, fmt, digest, doc, verdict, previous, previous_doc,
                     routes, notify, guard)  # fmt: skip
    if settled is None:
        return outcome
    return replace(outcome, settled=(settled,))


def _store(
    session: Session,
    source: Source,
    page: Page,
    fmt: Literal["markdown", "html", "auto"],
    digest: str,
    doc: Document,
    verdict: Verdict,
    previous: Snapshot | None,
    previous_doc: Document | None,
    routes: Sequence[RouteConfig],
    notify: bool,
    guard: GuardPolicy,
) -> Outcome:
    """The new snapshot with the guard's verdict on it, and its change set when accepted."""
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
        queued = 0
        if notify:
            queued = holds.notify_held(session, source, snapshot, verdict.hold, routes, guard)
        return Outcome(
            source.name,
            "quarantined",
            snapshot.id,
            notifications=queued,
            detail=verdict.reason or "",
        )
    holds.supersede(session, source, snapshot)
    if previous_doc is None:
        return Outcome(source.name, "baseline", snapshot.id, detail=f"{len(doc.records)} records")
    changes = verdict.changes if verdict.changes is not None else tuple(diff(previous_doc, doc))
    return record_changes(session, source, previous, snapshot, changes, routes, notify)


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

    watcher.ingest.check calls this whenever the page is not simply the one already stored.
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
            changed=outcome.all_changes > 0,
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
            return holds.confirm(session, source, latest, routes=routes, notify=True, guard=guard)
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
