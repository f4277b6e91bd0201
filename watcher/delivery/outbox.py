"""Deliver the outbox: claim each due notification, render it, send it, record what happened.

The state machine of a notification row::

    pending ──claim──► sending ──confirmed──► sent
       ▲                  │
       └──retry later─────┤ (timeout, connection error, 5xx, 429, SMTP 4xx: backoff)
                          └──permanent──► dead  (4xx, invalid_auth, SMTP 5xx, or too many tries)

A claim is one conditional UPDATE (``state='pending' AND due``, or ``state='sending' AND
lease over``) that sets ``sending``, a lease end in ``next_attempt_at`` and ``attempts + 1``,
committed before anything is sent: two dispatchers never send the same row at once, and no
database transaction is held open across the network. A dispatcher killed after a send but
before it recorded ``sent`` leaves a ``sending`` row whose lease runs out; the next run sends
it again. That is the one duplicate this design allows, and it never loses a message:
nothing is ``sent`` before the channel confirmed it.

Retries back off exponentially (``backoff_base * 2**(n-1)``, capped) with jitter, and never
sooner than a Retry-After. One run keeps going while some retry falls due within
``linger`` seconds, so a passing fault is absorbed by the same ``watcher dispatch``; later
retries are left for the next run (the daemon's, or cron's next ``check``).
"""

from __future__ import annotations

import logging
import os
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, TextIO, cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from watcher import journal
from watcher.audit.queries import iso
from watcher.config import Config, RouteConfig
from watcher.delivery.channels import MissingSecret, SendResult, build_channel, redact
from watcher.delivery.render import ChangeSet, Message, render_changes, render_ops, render_test
from watcher.domain.describe import Line, describe
from watcher.domain.document import Change, ChangeKind, Record, Severity, Status
from watcher.ingest import ops
from watcher.storage.models import ChangeRow, Notification, RecordRow, Snapshot, Source, utcnow

log = logging.getLogger(__name__)

STATES = ("pending", "sending", "sent", "dead")
NOTIFICATION_FIELDS = (
    "id",
    "route",
    "channel",
    "kind",
    "source",
    "state",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
    "next_attempt_at",
    "from_snapshot",
    "to_snapshot",
)


@dataclass(frozen=True)
class DispatchPolicy:
    backoff_base: float = 5.0  # seconds before the first retry (before jitter)
    backoff_cap: float = 1800.0
    max_attempts: int = 20  # about six hours of trying with the defaults, then dead
    max_retry_after: float = 3600.0  # a Retry-After longer than this is not believed
    linger: float = 30.0  # keep retrying in this run while a retry is due this soon
    lease: float = 300.0  # a claim older than this is taken to be a dead dispatcher's
    batch: int = 100

    def delay(self, attempts: int, retry_after: float | None, rng: Callable[[], float]) -> float:
        """Seconds until the next try after ``attempts`` failed ones.

        "Equal jitter": between half and all of the exponential step, so retries of many
        rows spread out yet none comes back almost at once. Never before a Retry-After.
        """
        step = min(self.backoff_cap, self.backoff_base * 2.0 ** max(0, attempts - 1))
        delay = step * (0.5 + rng() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


@dataclass(frozen=True)
class Delivery:
    """One attempt at one notification, as the run reports it."""

    id: int
    route: str
    kind: str
    outcome: Literal["sent", "retry", "dead"]
    attempts: int
    error: str | None = None
    next_attempt_at: datetime | None = None


@dataclass
class DispatchReport:
    deliveries: list[Delivery] = field(default_factory=list)
    # Rows still pending after a failed attempt when the run ended.
    still_failing: int = 0

    @property
    def sent(self) -> int:
        return sum(d.outcome == "sent" for d in self.deliveries)

    @property
    def dead(self) -> int:
        return sum(d.outcome == "dead" for d in self.deliveries)

    @property
    def failed(self) -> bool:
        """Something went dead in this run, or is still failing after it."""
        return self.dead > 0 or self.still_failing > 0


@dataclass(frozen=True)
class _Env:
    """What a run uses from the outside world, injectable for tests."""

    config: Config
    environ: Mapping[str, str]
    policy: DispatchPolicy
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    rng: Callable[[], float]
    stdout: TextIO | None

    def route(self, name: str) -> RouteConfig | None:
        return next((r for r in self.config.routes if r.name == name), None)


# --- entry points -----------------------------------------------------------------------


def dispatch(
    sessions: sessionmaker[Session],
    config: Config,
    *,
    environ: Mapping[str, str] | None = None,
    policy: DispatchPolicy | None = None,
    now: Callable[[], datetime] = utcnow,
    sleep: Callable[[float], None] = time.sleep,
    rng: Callable[[], float] = random.random,
    stdout: TextIO | None = None,
    ids: Sequence[int] | None = None,
) -> DispatchReport:
    """Send everything that is due (only the rows ``ids`` if given); see the module doc."""
    env = _Env(
        config,
        os.environ if environ is None else environ,
        policy or DispatchPolicy(),
        now,
        sleep,
        rng,
        stdout,
    )
    report = DispatchReport()
    deadline = now() + timedelta(seconds=max(0.0, env.policy.linger))
    # Each pass sends what is due (new ops notices about dead rows included); then, while a
    # retry falls due before the deadline, wait for it. The bound only guards against a row
    # that never settles.
    for _ in range(10_000):
        due = _due(sessions, now(), env.policy.batch, ids)
        if not due:
            upcoming = _next_due(sessions, ids) if env.policy.linger > 0 else None
            if upcoming is None or upcoming > deadline:
                break
            env.sleep(max(0.0, (upcoming - now()).total_seconds()))
            continue
        for notification_id in due:
            delivery = _deliver(sessions, env, notification_id)
            if delivery is not None:
                report.deliveries.append(delivery)
    report.still_failing = _still_failing(sessions, ids)
    return report


def send_test(
    sessions: sessionmaker[Session],
    config: Config,
    route_name: str,
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    now: Callable[[], datetime] = utcnow,
) -> Delivery:
    """Queue a test message for one route and try it once now: no retries, no waiting.

    Goes through the outbox like every message, so it shows in `watcher notifications`; a
    test that fails is dead at once (nobody wants a test message hours later).
    """
    route = next((r for r in config.routes if r.name == route_name), None)
    if route is None:
        raise KeyError(route_name)
    at = now()
    with sessions.begin() as session:
        row = Notification(
            idempotency_key=f"test:{route.name}:{at.isoformat()}",
            route=route.name,
            channel=route.channel,
            kind="test",
            created_at=at,
            payload={},
        )
        session.add(row)
        session.flush()
        row_id = row.id
    env = _Env(
        config,
        os.environ if environ is None else environ,
        DispatchPolicy(max_attempts=1, linger=0),
        now,
        time.sleep,
        random.random,
        stdout,
    )
    delivery = _deliver(sessions, env, row_id)
    assert delivery is not None  # nobody else knows this row yet
    return delivery


# --- one notification -------------------------------------------------------------------


def _claimable(at: datetime) -> Any:
    return or_(
        and_(
            Notification.state == "pending",
            or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= at),
        ),
        and_(Notification.state == "sending", Notification.next_attempt_at <= at),
    )


def _due(
    sessions: sessionmaker[Session], at: datetime, limit: int, ids: Sequence[int] | None
) -> list[int]:
    q = select(Notification.id).where(_claimable(at))
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    with sessions() as session:
        return list(session.scalars(q.order_by(Notification.id).limit(limit)))


def _next_due(sessions: sessionmaker[Session], ids: Sequence[int] | None) -> datetime | None:
    q = select(func.min(Notification.next_attempt_at)).where(Notification.state == "pending")
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    with sessions() as session:
        return session.scalar(q)


def _still_failing(sessions: sessionmaker[Session], ids: Sequence[int] | None) -> int:
    q = (
        select(func.count())
        .select_from(Notification)
        # A row being sent under another dispatcher's live claim is not failing (yet).
        .where(Notification.state == "pending", Notification.attempts > 0)
    )
    if ids is not None:
        q = q.where(Notification.id.in_(ids))
    with sessions() as session:
        return int(session.scalar(q) or 0)


def _claim(session: Session, env: _Env, notification_id: int) -> bool:
    at = env.now()
    result = session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _claimable(at))
        .values(
            state="sending",
            next_attempt_at=at + timedelta(seconds=env.policy.lease),
            attempts=Notification.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return cast(int, result.rowcount) == 1  # type: ignore[attr-defined]


def _deliver(sessions: sessionmaker[Session], env: _Env, notification_id: int) -> Delivery | None:
    with sessions.begin() as session:
        if not _claim(session, env, notification_id):
            return None  # another dispatcher has it, or it is no longer due
        n = session.get_one(Notification, notification_id, populate_existing=True)
        attempts, route_name, kind = n.attempts, n.route, n.kind
        route = env.route(route_name)
        message: Message | None = None
        failure: SendResult | None = None
        if route is None:
            failure = SendResult("dead", f"route {route_name} is no longer in the config")
        else:
            try:
                message = _message(session, env, n)
            except _Unrenderable as exc:
                failure = SendResult("dead", str(exc))
            except Exception as exc:  # a bug must not stop the other rows: logged, dead
                log.exception("cannot render notification %s", notification_id)
                failure = SendResult("dead", f"cannot render: {type(exc).__name__}: {exc}")
        if message is not None and n.deliveries:
            message = replace(message, delivered=dict(n.deliveries))
    # The claim is committed: from here on no transaction is open while we talk to the
    # network, and another dispatcher leaves this row alone until the lease runs out.
    if failure is not None:
        result = failure
    else:
        assert route is not None and message is not None
        result = _send(env, route, message, notification_id)
    return _record(sessions, env, notification_id, attempts, route_name, kind, result)


def _send(env: _Env, route: RouteConfig, message: Message, notification_id: int) -> SendResult:
    try:
        channel = build_channel(route, env.environ, stdout=env.stdout)
    except MissingSecret as exc:
        # Fixing the environment should not lose the message: retry, not dead.
        return SendResult("retry", str(exc))
    try:
        return channel.send(message)
    except Exception as exc:  # noqa: BLE001 - an unforeseen client error is one failed try
        # This route's own secrets whatever their length (the global registry skips very
        # short values), so a 4-character SMTP password is scrubbed here too.
        mine = [env.environ.get(name, "") for _, name in route.secret_envs()]
        error = redact(f"{type(exc).__name__}: {exc}", mine)
        log.error(
            "notification %s on route %s: unexpected error: %s", notification_id, route.name, error
        )
        return SendResult("retry", error)


def _record(
    sessions: sessionmaker[Session],
    env: _Env,
    notification_id: int,
    attempts: int,
    route_name: str,
    kind: str,
    result: SendResult,
) -> Delivery:
    at = env.now()
    with sessions.begin() as session:
        n = session.get_one(
            Notification, notification_id, with_for_update=True, populate_existing=True
        )
        deliveries = {**(n.deliveries or {}), **result.deliveries} or None
        outcome = result.outcome
        error = result.error
        if outcome == "retry" and attempts >= env.policy.max_attempts:
            outcome = "dead"
            error = f"gave up after {attempts} attempt{'s' if attempts > 1 else ''}: {error}"
        mine = n.state == "sending" and n.attempts == attempts
        if outcome == "sent":
            # A confirmation always wins, even over a later claim of the same row.
            if n.state != "sent":
                n.state, n.sent_at, n.next_attempt_at = "sent", at, None
            n.last_error, n.deliveries = error, deliveries
            return _told(Delivery(notification_id, route_name, kind, "sent", attempts, error))
        if not mine:
            # Our lease ran out and another dispatcher took the row over: its word counts.
            log.warning("notification %s: lease lost before recording %s", notification_id, outcome)
            return Delivery(notification_id, route_name, kind, outcome, attempts, error)
        n.last_error, n.deliveries = error, deliveries
        if outcome == "dead":
            n.state, n.next_attempt_at = "dead", None
            # Test messages fail in front of the person who sent them. A dead ops notice is
            # told to the other ops routes; the dedupe in watcher.ingest.ops bounds any ping-pong.
            if kind in ("changes", "ops"):
                ops.queue_ops(
                    session,
                    env.config.routes,
                    source=session.get(Source, n.source_id) if n.source_id else None,
                    event="dead",
                    text=f"notification {notification_id} on route {route_name} could not be "
                    f"delivered: {error}",
                    now=at,
                    about=route_name,
                    ref=str(notification_id),
                    exclude=(route_name,),
                )
            return _told(Delivery(notification_id, route_name, kind, "dead", attempts, error))
        retry_at = at + timedelta(seconds=env.policy.delay(attempts, result.retry_after, env.rng))
        n.state, n.next_attempt_at = "pending", retry_at
        return _told(
            Delivery(notification_id, route_name, kind, "retry", attempts, error, retry_at)
        )


def _told(d: Delivery) -> Delivery:
    """Tell the journal about a delivery, in the words `watcher dispatch` prints."""
    journal.delivery(
        summary_line(d),
        notification=d.id,
        route=d.route,
        kind=d.kind,
        outcome=d.outcome,
        attempts=d.attempts,
        error=d.error,
        retry_at=iso(d.next_attempt_at),
    )
    return d


# --- rendering from the database --------------------------------------------------------


class _Unrenderable(Exception):
    """The notification's data is gone (its snapshot was deleted): it can never be sent."""


def _message(session: Session, env: _Env, n: Notification) -> Message:
    if n.kind == "ops":
        return render_ops(
            key=n.idempotency_key,
            event=str(n.payload.get("event", "ops")),
            text=str(n.payload.get("text", "")),
            source=cast(str | None, n.payload.get("source")),
            at=n.created_at,
            route=n.route,
        )
    if n.kind == "test":
        return render_test(key=n.idempotency_key, route=n.route, at=n.created_at)
    return render_changes(_change_set(session, env, n), n.idempotency_key)


def _change_set(session: Session, env: _Env, n: Notification) -> ChangeSet:
    if n.to_snapshot_id is None:
        raise _Unrenderable("its snapshot no longer exists")
    snapshot = session.get_one(Snapshot, n.to_snapshot_id)
    previous = session.get(Snapshot, n.from_snapshot_id) if n.from_snapshot_id else None
    source = session.get_one(Source, snapshot.source_id)
    positions = [int(p) for p in n.payload.get("positions", [])]
    rows = session.scalars(
        select(ChangeRow)
        .where(ChangeRow.to_snapshot_id == snapshot.id, ChangeRow.position.in_(positions))
        .order_by(ChangeRow.position)
    ).all()
    if not rows:
        raise _Unrenderable(f"the changes of snapshot {snapshot.id} are gone")
    total = session.scalar(
        select(func.count()).select_from(ChangeRow).where(ChangeRow.to_snapshot_id == snapshot.id)
    )
    configured = env.config.source(source.name)
    return ChangeSet(
        source=source.name,
        route=n.route,
        to_snapshot=snapshot.id,
        taken_at=snapshot.taken_at,
        changes=tuple(_change(session, row, previous) for row in rows),
        from_snapshot=n.from_snapshot_id,
        previous_taken_at=previous.taken_at if previous is not None else None,
        page_url=_page_url(configured.url if configured else None, snapshot.url, source.url),
        page_title=snapshot.title,
        doc_date=snapshot.doc_date,
        total=total,
    )


def _page_url(*candidates: str | None) -> str | None:
    """The first web address among the config's, the snapshot's and the source's."""
    return next((u for u in candidates if u and u.startswith(("http://", "https://"))), None)


def section_summaries(session: Session, rows: Sequence[dict[str, Any]]) -> dict[int, Line]:
    """For the section-wide rows of a change log (a section added or removed), the line
    that summarizes the section and lists its entities, by change id (for the terminal:
    nothing cut)."""
    out: dict[int, Line] = {}
    for row in rows:
        if row["kind"] not in ("section_added", "section_removed"):
            continue
        stored = session.get(ChangeRow, row["id"])
        if stored is not None:
            previous = (
                session.get(Snapshot, stored.from_snapshot_id) if stored.from_snapshot_id else None
            )
            out[row["id"]] = describe(_change(session, stored, previous), cut=False)
    return out


def _change(session: Session, row: ChangeRow, previous: Snapshot | None) -> Change:
    cells: tuple[Record, ...] = ()
    if row.kind in ("entity_added", "section_added"):
        cells = _cells(session, row.to_snapshot_id, row)
    elif row.kind in ("entity_removed", "section_removed") and previous is not None:
        cells = _cells(session, previous.id, row)
    return Change(
        kind=cast(ChangeKind, row.kind),
        severity=cast(Severity, row.severity),
        section=row.section,
        entity=row.entity,
        row=row.row,
        column=row.column,
        row_label=row.row_label,
        column_label=row.column_label,
        old_entity=row.old_entity,
        old_section=row.old_section,
        old_raw=row.old_raw,
        new_raw=row.new_raw,
        old_status=cast(Status | None, row.old_status),
        new_status=cast(Status | None, row.new_status),
        entity_key=row.entity_key,
        cells=cells,
        old_links=tuple(row.old_links or ()),
        new_links=tuple(row.new_links or ()),
    )


def _cells(session: Session, snapshot_id: int, change: ChangeRow) -> tuple[Record, ...]:
    """The cells of an added (or removed) entity or section, so the message can say what
    it holds."""
    q = select(RecordRow).where(
        RecordRow.snapshot_id == snapshot_id, RecordRow.section == change.section
    )
    if change.entity:
        q = q.where(RecordRow.entity_key == change.entity_key, RecordRow.entity == change.entity)
    rows = session.scalars(q.order_by(RecordRow.position)).all()
    return tuple(
        Record(
            section=r.section,
            entity=r.entity,
            row=r.row,
            column=r.column,
            raw=r.raw,
            status=cast(Status | None, r.status),
            section_key=r.section_key,
            entity_key=r.entity_key,
            row_key=r.row_key,
            column_key=r.column_key,
        )
        for r in rows
    )


# --- the delivery log -------------------------------------------------------------------


def notification_rows(session: Session, state: str | None = None) -> list[dict[str, Any]]:
    """`watcher notifications`: one flat row per outbox entry, oldest first."""
    q = select(Notification, Source.name).outerjoin(Source, Source.id == Notification.source_id)
    if state:
        q = q.where(Notification.state == state)
    rows = []
    for n, source in session.execute(q.order_by(Notification.id)):
        rows.append(
            {
                "id": n.id,
                "route": n.route,
                "channel": n.channel,
                "kind": n.kind,
                "source": source,
                "state": n.state,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "created_at": iso(n.created_at),
                "sent_at": iso(n.sent_at),
                "next_attempt_at": iso(n.next_attempt_at) if n.state == "pending" else None,
                "from_snapshot": n.from_snapshot_id,
                "to_snapshot": n.to_snapshot_id,
            }
        )
    return rows


def outbox_counts(session: Session) -> dict[str, int]:
    """How many notifications are in each state (every state of STATES, zeros included)."""
    counts = dict.fromkeys(STATES, 0)
    q = select(Notification.state, func.count()).group_by(Notification.state)
    for state, n in session.execute(q):
        counts[state] = int(n)
    return counts


def summary_line(d: Delivery) -> str:
    """One line per delivery for `watcher dispatch`."""
    what = f"notification {d.id} ({d.kind}) on route {d.route}"
    if d.outcome == "sent":
        note = f" ({d.error})" if d.error else ""
        return f"{what}: sent{note}"
    if d.outcome == "dead":
        return f"{what}: DEAD after {d.attempts} attempt(s): {d.error}"
    return f"{what}: failed ({d.error}); retry at {iso(d.next_attempt_at)}"


def print_report(report: DispatchReport, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    for d in report.deliveries:
        out.write(summary_line(d) + "\n")
    out.write(f"{report.sent} sent, {report.dead} dead, {report.still_failing} still failing\n")
