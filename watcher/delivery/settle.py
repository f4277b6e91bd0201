"""Recording what one attempt came to: sent, tried again later (the backoff of
``DispatchPolicy.delay``), or dead (``watcher.delivery.dead``); and, during the send, each
delivery unit the channel confirms (``confirmed``).

Recorded in a transaction of its own after the send, under a lock on the row. A
confirmation always wins; any other outcome counts only while the claim is still this
run's (same attempt, still ``sending``), since a dispatcher whose lease ran out has been
replaced by another whose word counts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from watcher.delivery.channels import SendResult
from watcher.delivery.dead import bury
from watcher.delivery.digest import settle_covered
from watcher.delivery.log import Delivery, told
from watcher.delivery.policy import Run
from watcher.storage.models import Notification

# The outbox logs under one name, whichever of its stages speaks.
log = logging.getLogger("watcher.delivery.outbox")


@dataclass(frozen=True)
class Attempt:
    """The claimed row an attempt was about, as the claim left it."""

    id: int
    attempts: int
    route: str
    kind: str


class ClaimLost(Exception):
    """Another dispatcher took the row over mid-send (this run's lease ran out): sending the
    rest would duplicate what it sends."""


def confirmed(
    sessions: sessionmaker[Session], run: Run, attempt: Attempt, units: Mapping[str, str]
) -> None:
    """Record delivery units a channel has just confirmed, mid-send, in a short transaction
    of its own before it sends the next: a split message killed after this resends none of
    them. A confirmation always counts, whoever holds the claim by now (as in ``settle``).

    While the claim is still this run's, each confirmation renews its lease, so a long
    message to a slow far end is not taken over by another dispatcher while this one is
    still posting; when it is no longer this run's, ``ClaimLost`` stops the send here.
    """
    with sessions.begin() as session:
        n = session.get_one(Notification, attempt.id, with_for_update=True, populate_existing=True)
        n.deliveries = {**(n.deliveries or {}), **units}
        mine = n.state == "sending" and n.attempts == attempt.attempts
        if mine:
            n.next_attempt_at = run.now() + timedelta(seconds=run.policy.lease)
    if not mine:
        raise ClaimLost(f"notification {attempt.id}: another dispatcher took it over mid-send")


def settle(
    sessions: sessionmaker[Session], run: Run, attempt: Attempt, result: SendResult
) -> Delivery:
    at = run.now()
    a = attempt
    with sessions.begin() as session:
        n = session.get_one(Notification, a.id, with_for_update=True, populate_existing=True)
        deliveries = {**(n.deliveries or {}), **result.deliveries} or None
        outcome, error = result.outcome, result.error
        mine = n.state == "sending" and n.attempts == a.attempts
        if outcome == "retry" and a.attempts >= run.policy.max_attempts and mine:
            # Only the claim's holder gives up on a row: one taken over is another's to send.
            outcome = "dead"
            error = f"gave up after {a.attempts} attempt{'s' if a.attempts > 1 else ''}: {error}"
        if outcome == "sent":
            # A confirmation always wins, even over a later claim of the same row.
            if n.state != "sent":
                n.state, n.sent_at, n.next_attempt_at = "sent", at, None
            n.last_error, n.deliveries = error, deliveries
            settle_covered(session, n, at)
            return told(Delivery(a.id, a.route, a.kind, "sent", a.attempts, error))
        if not mine:
            # Our lease ran out and another dispatcher took the row over: its word counts.
            log.warning("notification %s: lease lost before recording %s", a.id, outcome)
            return Delivery(a.id, a.route, a.kind, outcome, a.attempts, error)
        n.last_error, n.deliveries = error, deliveries
        if outcome == "dead":
            bury(session, run.config, n, error, at)
            settle_covered(session, n, at)
            return told(Delivery(a.id, a.route, a.kind, "dead", a.attempts, error))
        retry_at = at + timedelta(seconds=run.policy.delay(a.attempts, result.retry_after, run.rng))
        n.state, n.next_attempt_at = "pending", retry_at
        return told(Delivery(a.id, a.route, a.kind, "retry", a.attempts, error, retry_at))
