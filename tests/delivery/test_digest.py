"""Digests in the outbox, on real page versions: a digest route's change sets wait, pending,
and go at the digest time as one message, each cell once (a flip back says so); other routes
are not held; the covered rows take the digest's outcome; ``next_due`` is the digest time;
the delivery log shows them held."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import PAGE_2025, later_2025
from tests.delivery.conftest import FAST, config, route, row
from tests.delivery.digests import MONDAY, NEXT_MORNING, flip_back, import_at, seed_three
from tests.delivery.servers import SlackServer
from watcher.delivery import claim as claims
from watcher.delivery import digest as digests
from watcher.delivery.log import notification_rows
from watcher.delivery.mend import revive_now
from watcher.delivery.outbox import dispatch
from watcher.storage.models import Notification

DAILY = route("morning", "stdout", digest="daily 09:00 Europe/Berlin")


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


def test_a_dead_digest_takes_its_change_sets_with_it_and_a_retry_brings_them_back(
    sessions: sessionmaker[Session], tmp_path: Path, slack: SlackServer
) -> None:
    hook = route("team", "slack", webhook_url_env="HOOK", digest="daily 09:00 Europe/Berlin")
    ops = route("ops", "stdout", ops=True, min_severity="warning", kinds=["format_changed"])
    cfg = config(hook, ops)
    ids = seed_three(sessions, cfg, tmp_path)
    held = [n.id for n in rows(sessions, ids) if n.route == "team"]
    after = NEXT_MORNING.replace(minute=1)
    env = {"HOOK": slack.webhook("forbidden")}
    out = io.StringIO()
    report = dispatch(sessions, cfg, environ=env, policy=FAST, now=lambda: after, stdout=out)
    digest = next(d for d in report.deliveries if d.kind == "digest")
    assert digest.outcome == "dead"
    assert {row(sessions, i).state for i in held} == {"dead"}
    # One ops notice, for the digest: not one per change set it held.
    assert out.getvalue().count("on route team could not be delivered") == 1
    assert f"notification {digest.id} on route team could not" in out.getvalue()
    # The webhook is fixed; the operator retries the dead ones.
    with time_machine.travel(after, tick=False):
        assert revive_now(sessions, None) == sorted([*held, digest.id])
    env = {"HOOK": slack.webhook("ok")}
    report = dispatch(sessions, cfg, environ=env, policy=FAST, now=lambda: after, stdout=out)
    assert [(d.id, d.outcome) for d in report.deliveries] == [(digest.id, "sent")]
    assert {row(sessions, i).state for i in held} == {"sent"}
    assert len(slack.received("ok")) == 1


def test_a_digest_turned_off_after_gathering_still_goes_once_with_what_it_covers(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    cfg = config(DAILY)
    ids = seed_three(sessions, cfg, tmp_path)
    # Gathered (the digest's row is made), then the route loses its digest before the digest
    # is sent: what it covers goes with it, once, never on its own as well.
    assert digests.gather(sessions, cfg.routes, NEXT_MORNING) == 1
    plain = config(route("morning", "stdout"))
    out = io.StringIO()
    report = dispatch(sessions, plain, policy=FAST, now=lambda: NEXT_MORNING, stdout=out)
    assert [d.kind for d in report.deliveries] == ["digest"]
    assert out.getvalue().count("Sent by watcher for route morning") == 1
    assert {row(sessions, i).state for i in ids} == {"sent"}


def test_a_digest_turned_off_before_its_time_lets_the_held_change_sets_go_one_by_one(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    ids = seed_three(sessions, config(DAILY), tmp_path)
    plain = config(route("morning", "stdout"))
    out = io.StringIO()
    report = dispatch(sessions, plain, policy=FAST, now=lambda: MONDAY.replace(hour=20), stdout=out)
    assert [(d.kind, d.outcome) for d in report.deliveries] == [("changes", "sent")] * 2
    assert {row(sessions, i).state for i in ids} == {"sent"}


def test_a_digest_whose_change_sets_were_all_withdrawn_is_withdrawn_unsent(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    cfg = config(DAILY)
    ids = seed_three(sessions, cfg, tmp_path)
    assert digests.gather(sessions, cfg.routes, NEXT_MORNING) == 1
    # `watcher reparse` found the page, read again, holds none of what the route wants.
    with sessions.begin() as session:
        for n in session.scalars(select(Notification).where(Notification.id.in_(ids))):
            n.state = "withdrawn"
    out = io.StringIO()
    report = dispatch(sessions, cfg, policy=FAST, now=lambda: NEXT_MORNING, stdout=out)
    assert report.deliveries == [] and out.getvalue() == ""
    with sessions() as session:
        [made] = session.scalars(select(Notification).where(Notification.kind == "digest"))
        assert made.state == "withdrawn"


def test_a_change_set_committed_after_its_digest_was_gathered_goes_in_the_next_one(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    cfg = config(DAILY)
    import_at(sessions, cfg, MONDAY, PAGE_2025, later_2025(tmp_path))
    assert digests.gather(sessions, cfg.routes, NEXT_MORNING.replace(second=1)) == 1
    # A check that began before 09:00 Berlin and committed after the digest was gathered.
    ids = import_at(sessions, cfg, NEXT_MORNING.replace(hour=7, minute=59), flip_back(tmp_path))
    first, late = ids[0], ids[-1]
    after = NEXT_MORNING.replace(second=10)
    out = io.StringIO()
    report = dispatch(sessions, cfg, policy=FAST, now=lambda: after, stdout=out)
    assert [d.kind for d in report.deliveries] == ["digest"]
    assert (row(sessions, first).state, row(sessions, late).state) == ("sent", "pending")
    with sessions() as session:
        listed = {r["id"]: r for r in notification_rows(session, config=cfg, now=after)}
    assert listed[late]["held"] == "digest at 2026-01-14T08:00:00Z"
    tomorrow = after.replace(day=14)
    report = dispatch(sessions, cfg, policy=FAST, now=lambda: tomorrow, stdout=out)
    assert [d.kind for d in report.deliveries] == ["digest"]
    assert row(sessions, late).state == "sent"
    assert out.getvalue().count("Sent by watcher for route morning: its digest.") == 2
