"""The delivery log: what one run did (``Delivery``, ``DispatchReport``), in the words
`watcher dispatch` prints and the journal records, and the outbox as `watcher notifications`
and /metrics read it."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from watcher import journal
from watcher.delivery import digest
from watcher.delivery.claim import Quiet, quiet_now
from watcher.delivery.states import STATES
from watcher.domain.times import iso, utcnow
from watcher.storage.lease import Holder, claim_over
from watcher.storage.models import Notification, Source

if TYPE_CHECKING:
    from watcher.config import Config

NOTIFICATION_FIELDS = (
    "id",
    "route",
    "channel",
    "kind",
    "source",
    "state",
    "held",
    "stuck_since",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
    "next_attempt_at",
    "from_snapshot",
    "to_snapshot",
    "claimed_by",
)


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


def told(d: Delivery) -> Delivery:
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


def notification_rows(
    session: Session,
    state: str | None = None,
    *,
    config: Config | None = None,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """`watcher notifications`: one flat row per outbox entry, oldest first. ``held`` says
    why a pending change set waits (its route's digest or quiet hours, by ``config``)."""
    q = select(Notification, Source.name).outerjoin(Source, Source.id == Notification.source_id)
    if state:
        q = q.where(Notification.state == state)
    rows = []
    now = now or utcnow()
    quiet = quiet_now(config.routes, now) if config is not None else {}
    digests = {
        key: nid
        for key, nid in session.execute(
            select(Notification.idempotency_key, Notification.id).where(
                Notification.kind == digest.KIND
            )
        )
    }
    for n, source in session.execute(q.order_by(Notification.id)):
        sending = n.state == "sending"
        claimer = Holder.parse(n.claimed_by) if sending else None
        rows.append(
            {
                "id": n.id,
                "route": n.route,
                "channel": n.channel,
                "kind": n.kind,
                "source": source,
                "state": n.state,
                "held": _held(n, quiet, digests),
                # A sending row nobody sends any more (its claim ran out, or its process is
                # gone) until a dispatcher takes it over: since its claim.
                "stuck_since": iso(n.claimed_at or n.next_attempt_at)
                if sending and claim_over(n.claimed_by, n.next_attempt_at, now)
                else None,
                "attempts": n.attempts,
                "last_error": n.last_error,
                "created_at": iso(n.created_at),
                "sent_at": iso(n.sent_at),
                "next_attempt_at": iso(n.next_attempt_at) if n.state == "pending" else None,
                "from_snapshot": n.from_snapshot_id,
                "to_snapshot": n.to_snapshot_id,
                "claimed_by": claimer.describe() if claimer else None,
            }
        )
    return rows


def _held(n: Notification, quiet: Mapping[str, Quiet], digests: Mapping[str, int]) -> str | None:
    """Why a pending change set waits, in a few words; None when it does not."""
    if n.kind != "changes" or n.state != "pending":
        return None
    if n.topic is not None and n.topic in digests:
        return f"in digest {digests[n.topic]}"
    q = quiet.get(n.route)
    if q is None or str(n.payload.get("severity", "")) in q.bypass:
        return None
    return f"digest at {iso(q.until)}" if q.digest else f"quiet hours until {iso(q.until)}"


def outbox_counts(session: Session) -> dict[str, int]:
    """How many notifications are in each state (every state of STATES, zeros included)."""
    counts = dict.fromkeys(STATES, 0)
    q = select(Notification.state, func.count()).group_by(Notification.state)
    for state, n in session.execute(q):
        counts[state] = int(n)
    return counts
