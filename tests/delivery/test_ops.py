"""Ops notices: told when a problem starts or ends, repeated no more often than repeat_every."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, SOURCE, config, record, route, seed_documents
from tests.delivery.servers import SlackServer
from watcher.config import SourceConfig
from watcher.delivery.ops import queue_ops
from watcher.delivery.outbox import dispatch
from watcher.ingest.health import update_health
from watcher.ingest.holds import accept
from watcher.storage import store
from watcher.storage.models import Notification, Snapshot, Source

T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
OPS = route("ops", "slack", webhook_url_env="OPS_URL", ops=True, min_severity="warning")
TEAM = route("team", "slack", webhook_url_env="TEAM_URL")


def ops_events(sessions: sessionmaker[Session], route_name: str = "ops") -> list[str]:
    with sessions() as session:
        rows = session.scalars(
            select(Notification)
            .where(Notification.kind == "ops", Notification.route == route_name)
            .order_by(Notification.id)
        ).all()
        return [str(n.payload["event"]) for n in rows]


def tell(sessions: sessionmaker[Session], event: str, hours: float, **kw: object) -> int:
    with sessions.begin() as session:
        source = store.get_or_create_source(session, SOURCE, "https://example.com/p.md", "auto")
        return queue_ops(
            session,
            kw.pop("routes", (OPS, TEAM)),  # type: ignore[arg-type]
            source=source,
            event=event,
            text=f"{event} at +{hours}h",
            now=T0 + timedelta(hours=hours),
        )


def test_a_lasting_problem_is_repeated_every_repeat_every_and_its_end_told_once(
    sessions: sessionmaker[Session],
) -> None:
    assert tell(sessions, "failing", 0) == 1  # only the ops route hears it
    assert tell(sessions, "failing", 1) == 0  # still failing: quiet
    assert tell(sessions, "stale", 2) == 1  # new news about the same problem
    assert tell(sessions, "failing", 3) == 0
    assert tell(sessions, "failing", 24.5) == 1  # a day later, still failing: reminded
    assert tell(sessions, "recovered", 25) == 1
    assert tell(sessions, "recovered", 26) == 0  # already told
    assert tell(sessions, "failing", 27) == 1  # a new problem, whatever the last reminder
    assert ops_events(sessions) == ["failing", "stale", "failing", "recovered", "failing"]
    assert ops_events(sessions, "team") == []


def test_a_recovery_nobody_was_told_about_the_problem_of_stays_quiet(
    sessions: sessionmaker[Session],
) -> None:
    assert tell(sessions, "recovered", 0) == 0
    assert ops_events(sessions) == []


def test_repeat_every_is_the_routes(sessions: sessionmaker[Session]) -> None:
    hourly = route("ops", "stdout", ops=True, repeat_every="1h")
    assert tell(sessions, "failing", 0, routes=(hourly,)) == 1
    assert tell(sessions, "failing", 0.5, routes=(hourly,)) == 0
    assert tell(sessions, "failing", 1, routes=(hourly,)) == 1


def test_health_moves_raise_one_notice_each(sessions: sessionmaker[Session]) -> None:
    cfg = SourceConfig(name=SOURCE, url="https://example.com/p.md")
    for ok in (False, False, False, False, False, True, True):
        with sessions.begin() as session:
            source = store.get_or_create_source(session, SOURCE, cfg.url, "auto")
            update_health(session, source, cfg, (OPS,), ok=ok, changed=False, error="HTTP 503")
    assert ops_events(sessions) == ["failing", "recovered"]


def test_a_quarantined_page_and_its_acceptance_reach_the_ops_route(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = config(TEAM, OPS)
    names = [f"Service {i}" for i in range(20)]
    # The new version lost most of its entities: quarantined, and no change alerts.
    seed_documents(
        sessions,
        cfg,
        [record(n, "available") for n in names],
        [record(n, "available") for n in names[:2]],
    )
    assert ops_events(sessions) == ["quarantined"]
    assert ops_events(sessions, "team") == []
    env = {"OPS_URL": slack.webhook("ok"), "TEAM_URL": slack.webhook("ok")}
    dispatch(sessions, cfg, environ=env, policy=FAST)
    [notice] = slack.received()
    assert "quarantined" in str(notice.body["blocks"])
    with sessions.begin() as session:
        snap = session.scalars(select(Snapshot).where(Snapshot.state == "quarantined")).one()
        accept(session, session.get_one(Source, snap.source_id), snap, routes=cfg.routes)
    assert ops_events(sessions) == ["quarantined", "reformatted"]
    dispatch(sessions, cfg, environ=env, policy=FAST)
    assert "new format was accepted" in str(slack.received()[-1].body["blocks"])


def test_a_dead_ops_notice_raises_no_further_notice(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = config(OPS)
    assert tell(sessions, "failing", 0, routes=(OPS,)) == 1
    report = dispatch(sessions, cfg, environ={"OPS_URL": slack.webhook("forbidden")}, policy=FAST)
    assert report.dead == 1
    assert ops_events(sessions) == ["failing"]  # no loop of notices about notices
