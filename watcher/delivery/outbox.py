"""Deliver the outbox: claim each due notification, render it, send it, record what happened.

The state machine of a notification row::

    pending ──claim──► sending ──confirmed──► sent
       ▲                  │
       └──retry later─────┤ (timeout, connection error, 5xx, 429, SMTP 4xx: backoff)
                          └──permanent──► dead  (4xx, invalid_auth, SMTP 5xx, or too many tries)

A claim is one conditional UPDATE (``state='pending' AND due``, or ``state='sending' AND
lease over``) that sets ``sending``, a lease end in ``next_attempt_at`` and ``attempts + 1``,
committed before the message is read or anything is sent: two dispatchers never send the
same row at once, and no database transaction is held open while a message renders or
across the network. A dispatcher killed after a send but before it recorded ``sent`` leaves
a ``sending`` row whose lease runs out; the next run sends it again. That is the one
duplicate this design allows, and it never loses a message: nothing is ``sent`` before the
channel confirmed it. A message sent in units (the parts of a split Slack message, email
recipients) records each unit as the channel confirms it (``Message.confirm``), before the
next is sent, and the next attempt skips the units recorded: a kill resends only the unit
in flight. When the database cannot record (a full disk), the run stops with that error
rather than send on what it could not remember.

Each stage is a module of its own: ``claim`` (which rows are due, and the claim),
``load`` (the message from the database), ``send`` (one channel call), ``settle`` (sent,
retry later, or ``dead``: the dead letters; and each unit confirmed mid-send), with
``policy`` (the backoff and what a run uses from outside) and ``log`` (the report and the
delivery log). This module runs them.

Retries back off exponentially (``backoff_base * 2**(n-1)``, capped) with jitter, and never
sooner than a Retry-After. One run keeps going while some retry falls due within
``linger`` seconds, so a passing fault is absorbed by the same ``watcher dispatch``; later
retries are left for the next run (the daemon's, or cron's next ``check``).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, TextIO

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from watcher.delivery import claim as claims
from watcher.delivery import digest as digests
from watcher.delivery.channels import SendResult
from watcher.delivery.load import Unrenderable, read, render, section_summaries
from watcher.delivery.log import (
    NOTIFICATION_FIELDS,
    Delivery,
    DispatchReport,
    notification_rows,
    outbox_counts,
    print_report,
    summary_line,
)
from watcher.delivery.policy import DispatchPolicy, Run
from watcher.delivery.render import Message
from watcher.delivery.send import send
from watcher.delivery.settle import Attempt, confirmed, settle
from watcher.delivery.states import STATES
from watcher.domain.times import utcnow
from watcher.storage.engine import READ_ONLY
from watcher.storage.models import Notification

if TYPE_CHECKING:
    from watcher.config import Config

# What the command line and the daemon use of the outbox, importable from here.
__all__ = [
    "NOTIFICATION_FIELDS",
    "STATES",
    "Delivery",
    "DispatchPolicy",
    "DispatchReport",
    "dispatch",
    "notification_rows",
    "outbox_counts",
    "print_report",
    "section_summaries",
    "send_test",
    "summary_line",
]

log = logging.getLogger(__name__)


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
    run = Run(
        config,
        os.environ if environ is None else environ,
        policy or DispatchPolicy(),
        now,
        sleep,
        rng,
        stdout,
    )
    report = DispatchReport()
    deadline = now() + timedelta(seconds=max(0.0, run.policy.linger))
    # Each pass sends what is due (new ops notices about dead rows included); then, while a
    # retry falls due before the deadline, wait for it. The bound only guards against a row
    # that never settles.
    for _ in range(10_000):
        at = now()
        if ids is None:
            digests.gather(sessions, config.routes, at)
        quiet = claims.quiet_now(config.routes, at)
        due = claims.due(sessions, at, run.policy.batch, ids, quiet)
        if not due:
            upcoming = claims.next_due(sessions, ids, quiet) if run.policy.linger > 0 else None
            if upcoming is None or upcoming > deadline:
                break
            run.sleep(max(0.0, (upcoming - now()).total_seconds()))
            continue
        for notification_id in due:
            delivery = _deliver(sessions, run, notification_id)
            if delivery is not None:
                report.deliveries.append(delivery)
    report.still_failing = claims.still_failing(sessions, ids)
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
    run = Run(
        config,
        os.environ if environ is None else environ,
        DispatchPolicy(max_attempts=1, linger=0),
        now,
        time.sleep,
        random.random,
        stdout,
    )
    delivery = _deliver(sessions, run, row_id)
    assert delivery is not None  # nobody else knows this row yet
    return delivery


def _deliver(sessions: sessionmaker[Session], run: Run, notification_id: int) -> Delivery | None:
    """Claim, render, send and settle one row; None when it is not this run's to send."""
    with sessions.begin() as session:
        if not claims.claim(session, run, notification_id):
            return None  # another dispatcher has it, or it is no longer due
        n = session.get_one(Notification, notification_id, populate_existing=True)
        attempt = Attempt(notification_id, n.attempts, n.route, n.kind)
        if digests.withdraw_if_empty(session, n):
            return None
    # The claim is committed before the message is even read: a big change set takes
    # seconds to render, and on SQLite an open transaction holds the write lock all along.
    # From here on no transaction is open while we render or talk to the network, and
    # another dispatcher leaves this row alone until the lease runs out.
    route = run.route(attempt.route)
    if route is None:
        result = SendResult("dead", f"route {attempt.route} is no longer in the config")
    else:
        prepared = _prepare(sessions, run, attempt)
        if isinstance(prepared, SendResult):
            result = prepared
        else:
            result = send(run, route, prepared, notification_id)
    return settle(sessions, run, attempt, result)


def _prepare(sessions: sessionmaker[Session], run: Run, attempt: Attempt) -> Message | SendResult:
    """The claimed row's message, read in a short session and rendered once it is closed,
    with what earlier attempts delivered and the hook that records each unit the channel
    confirms; a ``dead`` result when it cannot be rendered."""
    try:
        with sessions() as session:
            # A reader's transaction: deferred on SQLite (no write lock), READ ONLY on
            # PostgreSQL.
            session.connection(execution_options={READ_ONLY: True})
            n = session.get_one(Notification, attempt.id)
            contents = read(session, run.config, n)
            key, delivered = n.idempotency_key, dict(n.deliveries or {})
        rendered = render(contents, key)
    except Unrenderable as exc:
        return SendResult("dead", str(exc))
    except SQLAlchemyError:
        raise  # the database failed, not the message: the run stops, the row waits its lease
    except Exception as exc:  # a bug must not stop the other rows: logged, dead
        log.exception("cannot render notification %s", attempt.id)
        return SendResult("dead", f"cannot render: {type(exc).__name__}: {exc}")
    return replace(
        rendered, delivered=delivered, on_confirm=partial(confirmed, sessions, run, attempt)
    )
