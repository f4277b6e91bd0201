"""Digests in the outbox, on real page versions: a digest route's change sets wait, pending,
and go at the digest time as one message, each cell once (a flip back says so); other routes
are not held; the covered rows take the digest's outcome; ``next_due`` is the digest time;
the delivery log shows them held."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import CAPABILITY_EDITS, PAGE_2025, later_2025
from tests.delivery.conftest import FAST, SOURCE, config, route, row
from watcher.config import Config
from watcher.delivery import claim as claims
from watcher.delivery.log import notification_rows
from watcher.delivery.outbox import dispatch
from watcher.ingest.importer import ImportItem, import_pages
from watcher.storage.models import Notification

DAILY = route("morning", "stdout", digest="daily 09:00 Europe/Berlin")
# Winter, CET: 09:00 Berlin is 08:00 UTC.
MONDAY = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 1, 13, 8, 0, tzinfo=UTC)


def flip_back(folder: Path) -> Path:
    """A third version of the real 2025 page, after ``later_2025``: Microsoft.Sql's
    servers/databases loses system-assigned again (changed and changed back), Microsoft.Web's
    sites shows user-assigned in preview (Available → Preview, via Not available), and Azure
    Virtual Machines' documentation points where it did (its link changed back)."""
    text = PAGE_2025.read_text(encoding="utf-8").replace(
        "ms.date: 05/09/2025", "ms.date: 06/20/2025"
    )
    old_sites = CAPABILITY_EDITS[1][0]
    assert text.count(old_sites) == 1
    text = text.replace(
        old_sites, "| Microsoft.Web | sites | System-assigned<br/>User-assigned (preview) |"
    )
    path = folder / "2025-06-20.md"
    path.write_text(text, encoding="utf-8")
    return path


def import_at(
    sessions: sessionmaker[Session], cfg: Config, moment: datetime, *pages: Path
) -> list[int]:
    """Import the pages as successive snapshots (notifications on) with the clock at
    ``moment``; the ids of the outbox rows so far."""
    with time_machine.travel(moment, tick=False):
        items = [ImportItem(p, p.read_bytes()) for p in pages]
        import_pages(sessions, SOURCE, items, routes=cfg.routes, notify=True)
    with sessions() as session:
        return list(session.scalars(select(Notification.id).order_by(Notification.id)))


def seed_three(sessions: sessionmaker[Session], cfg: Config, tmp_path: Path) -> list[int]:
    """The real 2025 page as the baseline, then two later versions on the same day."""
    import_at(sessions, cfg, MONDAY, PAGE_2025)
    import_at(sessions, cfg, MONDAY.replace(hour=11), later_2025(tmp_path))
    return import_at(sessions, cfg, MONDAY.replace(hour=15), flip_back(tmp_path))


def rows(sessions: sessionmaker[Session], ids: Sequence[int]) -> list[Notification]:
    return [row(sessions, i) for i in ids]


def test_held_until_the_digest_time_then_one_message_with_each_cell_once(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    cfg = config(DAILY, route("now", "stdout"))
    ids = seed_three(sessions, cfg, tmp_path)
    held = [n.id for n in rows(sessions, ids) if n.route == "morning"]
    assert len(held) == 2
    out = io.StringIO()
    evening = MONDAY.replace(hour=20)
    report = dispatch(sessions, cfg, policy=FAST, now=lambda: evening, stdout=out)
    assert {d.route for d in report.deliveries} == {"now"} and len(report.deliveries) == 2
    assert {row(sessions, i).state for i in held} == {"pending"}
    quiet = claims.quiet_now(cfg.routes, evening)
    assert claims.next_due(sessions, None, quiet) == NEXT_MORNING
    with sessions() as session:
        listed = {r["id"]: r for r in notification_rows(session, config=cfg, now=evening)}
    assert listed[held[0]]["held"] == "digest at 2026-01-13T08:00:00Z"

    out = io.StringIO()
    after = NEXT_MORNING.replace(second=5)
    report = dispatch(sessions, cfg, policy=FAST, now=lambda: after, stdout=out)
    [digest] = report.deliveries
    assert (digest.kind, digest.route, digest.outcome) == ("digest", "morning", "sent")
    printed = out.getvalue()
    assert printed.count("Sent by watcher for route morning") == 1
    assert "## azure-managed-identities:" in printed
    assert (
        "System assigned: Not available → Not available (changed and changed back, via Available)"
        in printed
    )
    assert "User assigned: Available → Preview (via Not available)" in printed
    assert {row(sessions, i).state for i in held} == {"sent"}
    stored = row(sessions, digest.id)
    assert stored.payload["covers"] == held
    assert {row(sessions, i).topic for i in held} == {stored.idempotency_key}
    # Nothing more, now or later.
    assert not dispatch(sessions, cfg, policy=FAST, now=lambda: after).deliveries
    with sessions() as session:
        listed = {r["id"]: r for r in notification_rows(session, config=cfg, now=after)}
    assert listed[held[0]]["held"] is None
