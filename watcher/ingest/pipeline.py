"""The ingest step shared by check, import and backfill, and a check's full path.

Ingest writes the snapshot, its records, its changes and its outbox rows in the caller's
transaction, so either all of it is stored or none. ``store_fetched`` is the full path of a
check (watcher.ingest.check), taken when the page is not simply the one stored: the page
ingested, the fetch log written, the source's health moved, in one transaction.
``record_failure`` is what a failed check writes, in one transaction too.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy.orm import Session, sessionmaker

from watcher.domain.diff import diff
from watcher.domain.document import Document
from watcher.domain.guard import GuardPolicy, Verdict, judge
from watcher.domain.outcome import Outcome
from watcher.domain.times import parse_when, utcnow
from watcher.ingest import holds
from watcher.ingest.changeset import record_changes
from watcher.ingest.fetch import FetchResult
from watcher.ingest.health import update_health
from watcher.parse import PARSER_VERSION, parse
from watcher.storage import checks, store
from watcher.storage.checks import Request
from watcher.storage.models import Snapshot, Source

if TYPE_CHECKING:
    from watcher.config import RouteConfig, SourceConfig

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
    packed: store.Packed | None = None,
    latest: Snapshot | Literal["ask"] | None = "ask",
    copies: store.Copies | None = None,
) -> Outcome:
    """Store one page of a source unless it is the same as the latest; diff and queue alerts.

    ``document`` is the page parsed and ``packed`` its ``store.pack`` when the caller made
    them already; ``latest`` the source's latest snapshot and ``copies`` the
    ``store.body_copies`` of the page's body when the caller read them in this transaction
    (latest None: the source has none)."""
    run = _Ingest(session, source, page, sha256(page.body), routes, notify, guard)
    if isinstance(latest, str):  # "ask"
        latest = store.latest_snapshot(session, source.id)
    if latest is not None and latest.sha256 == run.digest:
        return _latest_again(run, latest)
    if copies is None:
        copies = store.body_copies(session, source.id, run.digest)
    run = replace(run, copies=copies)
    seen = _seen_before(run, latest)
    if seen is not None:
        return seen
    doc = document if document is not None else parse(page.body, fmt, page.content_type)
    previous = (
        latest
        if latest is None or latest.state == "accepted"
        else store.latest_snapshot(session, source.id, state="accepted")
    )
    previous_doc = store.load_document(session, previous) if previous is not None else None
    verdict = run.judge(doc, previous, previous_doc)
    settled: Outcome | None = None
    if not verdict.accepted and latest is not None and latest.state == "quarantined":
        confirmed = _confirm_held(run, latest, doc, verdict)
        if confirmed is not None:
            # The held page is the baseline now: this one is judged next to it.
            settled, previous, previous_doc = confirmed[0], latest, confirmed[1]
            verdict = run.judge(doc, previous, previous_doc)
    outcome = _store(run, fmt, doc, verdict, previous, previous_doc, packed)
    return outcome if settled is None else replace(outcome, settled=(settled,))


_NONE_HELD = store.Copies()


@dataclass(frozen=True)
class _Ingest:
    """One page on its way in, and how it is judged and told."""

    session: Session
    source: Source
    page: Page
    digest: str
    routes: Sequence[RouteConfig]
    notify: bool
    guard: GuardPolicy
    copies: store.Copies = _NONE_HELD  # what the source holds of this body

    def judge(
        self, doc: Document, previous: Snapshot | None, previous_doc: Document | None
    ) -> Verdict:
        return holds.judge_page(
            self.session,
            self.source,
            self.digest,
            doc,
            previous,
            previous_doc,
            self.guard,
            self.copies,
        )


def _latest_again(run: _Ingest, latest: Snapshot) -> Outcome:
    """The latest snapshot's body again: unchanged, or one more sight of a held page."""
    if latest.state == "quarantined":
        return holds.confirm(
            run.session, run.source, latest, routes=run.routes, notify=run.notify, guard=run.guard
        )
    return Outcome(run.source.name, "unchanged", latest.id)


def _seen_before(run: _Ingest, latest: Snapshot | None) -> Outcome | None:
    """What a page already stored comes to (history imported twice, a page an operator
    rejected); None for a page to judge. Raises OutOfOrder for one older than the latest
    snapshot."""
    session, source, page, copies = run.session, run.source, run.page, run.copies
    if latest is not None and page.taken_at <= latest.taken_at and copies.first is not None:
        # Re-importing history (or a backfill run twice) finds what it already stored.
        return Outcome(source.name, "unchanged", copies.first, detail="already stored")
    if copies.rejected is not None:
        rejected = session.get(Snapshot, copies.rejected)
        assert rejected is not None  # read in this transaction
        return _rejected_again(run, rejected)
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
    return None


def _rejected_again(run: _Ingest, rejected: Snapshot) -> Outcome:
    """An operator decided this page already: it is not the page, however often served."""
    queued = 0
    if run.notify:
        queued = holds.notify_held(
            run.session,
            run.source,
            rejected,
            "operator",
            run.routes,
            run.guard,
            seen=" and rejected",
        )
    return Outcome(
        run.source.name,
        "quarantined",
        rejected.id,
        notifications=queued,
        detail=f"the page is snapshot {rejected.id} again, which an operator rejected",
        rejected=True,
    )


def _confirm_held(
    run: _Ingest, held: Snapshot, doc: Document, verdict: Verdict
) -> tuple[Outcome, Document] | None:
    """Accept the held latest snapshot when this later, different page confirms it; its
    acceptance and its document, or None when the page does not confirm it."""
    held_verdict = holds.held_verdict(run.session, run.source, held, run.guard)
    pending = store.load_document(run.session, held)
    confirmed = None
    if (
        held_verdict.hold == "shape"
        and run.page.origin != "fetch"  # a live page must be seen again as it is
        and judge(pending, doc, run.guard).accepted
    ):
        # In history (imports, backfills: one body is never seen twice) a later version in
        # the held page's new format confirms that format.
        confirmed = "confirmed by a later version in the same format"
    elif verdict.confirms(held_verdict):
        # A later, different version still shows the loss (or the additions) the held
        # page had: not a half-rendered page, a real edit. The same bytes never confirm.
        confirmed = "confirmed by a later version showing the same change"
    if confirmed is None:
        return None
    log.info("%s: snapshot %s accepted, %s", run.source.name, held.id, confirmed)
    accepted = holds.accept(
        run.session,
        run.source,
        held,
        routes=run.routes,
        notify=run.notify,
        reason=confirmed,
        guard=run.guard,
        as_="format" if held_verdict.hold == "shape" else "diff",
    )
    return accepted, pending


def _store(
    run: _Ingest,
    fmt: Literal["markdown", "html", "auto"],
    doc: Document,
    verdict: Verdict,
    previous: Snapshot | None,
    previous_doc: Document | None,
    packed: store.Packed | None,
) -> Outcome:
    """The new snapshot with the guard's verdict on it, and its change set when accepted."""
    session, source, page = run.session, run.source, run.page
    snapshot = store.add_snapshot(
        session,
        Snapshot(
            source_id=source.id,
            taken_at=page.taken_at,
            sha256=run.digest,
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
        page.body,
        packed,
    )
    if not verdict.accepted:
        queued = 0
        if run.notify:
            queued = holds.notify_held(
                session, source, snapshot, verdict.hold, run.routes, run.guard
            )
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
    return record_changes(session, source, previous, snapshot, changes, run.routes, run.notify)


def store_fetched(
    sessions: sessionmaker[Session],
    cfg: SourceConfig,
    result: FetchResult,
    routes: Sequence[RouteConfig],
    guard: GuardPolicy,
    *,
    dry_run: bool = False,
    page_dated: bool = False,
) -> Outcome:
    """The full path of a check, in one transaction: the page ingested (or a 304 settled),
    the fetch log, the source's health. ``page_dated`` stores a new page at its own ms.date,
    as an import does, rather than now (the demo replays the page's history this way).

    watcher.ingest.check calls this whenever the page is not simply the one already stored.
    """
    document = None
    if not result.not_modified:
        # Parsed before the write transaction opens: on SQLite that transaction holds the
        # database's write lock, which the other checks (--jobs, the daemon's threads) wait
        # for, sleeping in steps of up to 100 ms.
        document = parse(result.body, cfg.format, result.content_type)
    with sessions() as session:
        session.begin()
        # Created here, in the transaction a dry run rolls back, so a dry run stores nothing.
        source = store.get_or_create_source(session, cfg.name, cfg.url, cfg.format)
        taken_at = _taken_at(session, source, document) if page_dated else utcnow()
        outcome, settled_on = _after_fetch(
            session, source, cfg, result, routes, guard, document, taken_at
        )
        checks.record_fetches(store.driver(session), source.id, result.attempts, settled_on)
        update_health(session, source, cfg, routes, ok=True, changed=outcome.all_changes > 0)
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
    requests: Sequence[Request] = (),
) -> None:
    """Count a failed check against the source, with the requests its fetch made, in a
    transaction of its own (watcher.ingest.check._failed is the one caller)."""
    with sessions.begin() as session:
        source = store.get_or_create_source(session, cfg.name, cfg.url, cfg.format)
        checks.record_fetches(store.driver(session), source.id, requests, None)
        update_health(session, source, cfg, routes, ok=False, changed=False, error=message)


def _after_fetch(
    session: Session,
    source: Source,
    cfg: SourceConfig,
    result: FetchResult,
    routes: Sequence[RouteConfig],
    guard: GuardPolicy,
    document: Document | None,
    taken_at: datetime,
) -> tuple[Outcome, int | None]:
    """What the fetched page comes to, and the snapshot it is (stored, or found again)."""
    if result.not_modified:
        latest = store.latest_snapshot(session, source.id)
        if latest is not None and latest.state == "quarantined":
            # The origin says the quarantined body is still what it serves: a confirmation.
            held = holds.confirm(session, source, latest, routes=routes, notify=True, guard=guard)
            return held, held.snapshot_id
        return Outcome(source.name, "not_modified"), latest.id if latest is not None else None
    page = Page(
        body=result.body,
        taken_at=taken_at,
        origin="fetch",
        url=result.url,
        content_type=result.content_type,
        etag=result.etag,
        last_modified=result.last_modified,
    )
    outcome = ingest(
        session, source, page, fmt=cfg.format, routes=routes, guard=guard, document=document
    )
    return outcome, outcome.snapshot_id


def _taken_at(session: Session, source: Source, document: Document | None) -> datetime:
    """When a fetched page dated by its ms.date is stored: as an import would store it."""
    wanted = page_date(document) if document is not None else None
    if wanted is None:
        return utcnow()
    return next_import_time(store.latest_snapshot(session, source.id), wanted)


def page_date(document: Document) -> datetime | None:
    """The start (UTC) of the day a page says it is of (its ms.date), if it says."""
    return parse_when(document.ms_date) if document.ms_date is not None else None


def next_import_time(latest: Snapshot | None, wanted: datetime) -> datetime:
    """Make a version that shares its date with the latest one a moment later than it."""
    if latest is None or wanted > latest.taken_at:
        return wanted
    if wanted.date() == latest.taken_at.date():
        return latest.taken_at + timedelta(seconds=1)
    return wanted  # older: ingest refuses it with OutOfOrder
