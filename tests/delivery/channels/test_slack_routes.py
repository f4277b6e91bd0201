"""Slack delivery against a real local Slack-like server: the Slack half of the fault matrix.

Webhooks (WebhookClient) and chat.postMessage (WebClient with its base_url pointed at the
server). Each test queues the real 2021-01-28 → 2021-11-09 change set through the import
pipeline, then runs the real dispatcher with millisecond backoffs.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import (
    FAST,
    config,
    record,
    route,
    row,
    seed,
    seed_documents,
    seed_small,
)
from tests.delivery.servers import SlackServer
from watcher.config import RouteConfig
from watcher.delivery.outbox import DispatchPolicy, dispatch
from watcher.storage.models import Notification

WEBHOOK = route("team", "slack", webhook_url_env="TEAM_SLACK_URL")
OPS = route("ops", "slack", webhook_url_env="OPS_SLACK_URL", ops=True, min_severity="warning")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: what Slack answers does not depend on the database. The outbox's state
    machine runs on both databases in test_cli, test_ops and test_secrets."""
    return f"sqlite:///{tmp_path / 'watcher.db'}"


def api_route(slack: SlackServer, behaviour: str) -> RouteConfig:
    return route(
        "team",
        "slack",
        token_env="TEAM_SLACK_TOKEN",
        channel_id="C0123456789",
        api_url=slack.api(behaviour),
    )


def test_webhook_delivers_the_change_set_once(
    sessions: sessionmaker[Session], slack: SlackServer, corpus: Path
) -> None:
    cfg = config(WEBHOOK)
    [nid] = seed(sessions, cfg, corpus)
    report = dispatch(sessions, cfg, environ={"TEAM_SLACK_URL": slack.webhook("ok")}, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    assert not report.failed
    [got] = slack.received()
    assert got.body["blocks"][0]["type"] == "header"
    assert "21 promotions" in got.body["blocks"][0]["text"]["text"]
    assert got.body["text"]  # the plain-text fallback
    n = row(sessions, nid)
    assert (n.state, n.attempts, n.last_error) == ("sent", 1, None)
    assert n.sent_at is not None
    # A second run finds nothing to do: nothing is sent twice.
    assert dispatch(sessions, cfg, environ={"TEAM_SLACK_URL": slack.webhook("ok")}).deliveries == []
    assert len(slack.received()) == 1


def test_500_then_200_is_exactly_one_accepted_message(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = config(WEBHOOK)
    [nid] = seed_small(sessions, cfg)
    report = dispatch(
        sessions, cfg, environ={"TEAM_SLACK_URL": slack.webhook("flaky-1")}, policy=FAST
    )
    assert [d.outcome for d in report.deliveries] == ["retry", "sent"]
    assert "HTTP 500" in (report.deliveries[0].error or "")
    assert len(slack.received()) == 2  # the refused one, and the one accepted
    n = row(sessions, nid)
    assert (n.state, n.attempts) == ("sent", 2)


@pytest.mark.parametrize("kind", ["webhook", "api"])
def test_429_waits_for_retry_after_then_sends_once(
    sessions: sessionmaker[Session], slack: SlackServer, kind: str
) -> None:
    # The webhook says Retry-After: 2; the Web API (to keep the suite quick) 1.
    wait = 2 if kind == "webhook" else 1
    r = WEBHOOK if kind == "webhook" else api_route(slack, f"ratelimited-{wait}")
    cfg = config(r)
    [nid] = seed_small(sessions, cfg)
    env = {"TEAM_SLACK_URL": slack.webhook("ratelimited-2"), "TEAM_SLACK_TOKEN": "xoxb-test-1"}
    report = dispatch(sessions, cfg, environ=env, policy=FAST)
    first, second = slack.received()
    assert second.at - first.at >= wait, "resent before Retry-After"
    assert [d.outcome for d in report.deliveries] == ["retry", "sent"]
    assert row(sessions, nid).state == "sent"


@pytest.mark.parametrize(("behaviour", "status"), [("forbidden", "403"), ("notfound", "404")])
def test_webhook_4xx_is_dead_at_once_and_tells_ops(
    sessions: sessionmaker[Session], slack: SlackServer, behaviour: str, status: str
) -> None:
    cfg = config(WEBHOOK, OPS)
    [nid] = seed_small(sessions, cfg)  # the ops route wants warnings only: no change row
    env = {"TEAM_SLACK_URL": slack.webhook(behaviour), "OPS_SLACK_URL": slack.webhook("ok")}
    report = dispatch(sessions, cfg, environ=env, policy=FAST)
    assert report.failed and report.dead == 1
    n = row(sessions, nid)
    assert (n.state, n.attempts) == ("dead", 1)
    assert f"HTTP {status}" in (n.last_error or "")
    assert len(slack.received(behaviour)) == 1, "a permanent failure is not retried"
    [notice] = slack.received("ok")
    text = str(notice.body["blocks"])
    assert "could not be delivered" in text and "team" in text
    with sessions() as session:
        ops_rows = session.scalars(select(Notification).where(Notification.kind == "ops")).all()
    assert [(o.route, o.state, o.payload["event"]) for o in ops_rows] == [("ops", "sent", "dead")]


@pytest.mark.parametrize(
    ("behaviour", "error"), [("forbidden", "invalid_auth"), ("notfound", "channel_not_found")]
)
def test_web_api_permanent_errors_are_dead(
    sessions: sessionmaker[Session], slack: SlackServer, behaviour: str, error: str
) -> None:
    cfg = config(api_route(slack, behaviour))
    [nid] = seed_small(sessions, cfg)
    report = dispatch(sessions, cfg, environ={"TEAM_SLACK_TOKEN": "xoxb-test-2"}, policy=FAST)
    assert report.dead == 1
    n = row(sessions, nid)
    assert n.state == "dead" and error in (n.last_error or "")
    assert len(slack.received()) == 1


def test_web_api_posts_to_the_channel_with_the_token(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = config(api_route(slack, "flaky-1"))
    [nid] = seed_small(sessions, cfg)
    report = dispatch(sessions, cfg, environ={"TEAM_SLACK_TOKEN": "xoxb-test-3"}, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["retry", "sent"]
    got = slack.received()[-1]
    assert got.path.endswith("/api/chat.postMessage")
    assert got.headers["Authorization"] == "Bearer xoxb-test-3"
    assert got.body["channel"] == "C0123456789"
    assert got.body["blocks"][0]["type"] == "header"
    assert row(sessions, nid).state == "sent"


def test_a_200_without_ok_is_not_a_confirmation(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = config(WEBHOOK)
    [nid] = seed_small(sessions, cfg)
    policy = DispatchPolicy(backoff_base=0.01, backoff_cap=0.02, max_attempts=3, linger=2)
    report = dispatch(
        sessions, cfg, environ={"TEAM_SLACK_URL": slack.webhook("badbody")}, policy=policy
    )
    assert [d.outcome for d in report.deliveries] == ["retry", "retry", "dead"]
    n = row(sessions, nid)
    assert n.state == "dead" and (n.last_error or "").startswith("gave up after 3 attempts")


def test_a_server_that_never_answers_times_out_and_is_retried(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = config(route("team", "slack", webhook_url_env="TEAM_SLACK_URL", timeout=0.5))
    [nid] = seed_small(sessions, cfg)
    started = time.monotonic()
    report = dispatch(
        sessions,
        cfg,
        environ={"TEAM_SLACK_URL": slack.webhook("hang")},
        policy=DispatchPolicy(linger=0),
    )
    assert time.monotonic() - started < 5, "the timeout did not fire"
    [attempt] = report.deliveries
    assert attempt.outcome == "retry" and "timed out" in (attempt.error or "").lower()
    n = row(sessions, nid)
    assert (n.state, n.attempts) == ("pending", 1)
    # The next run, once the backoff has passed, tries again (here Slack is back).
    with sessions.begin() as session:
        session.get_one(Notification, nid).next_attempt_at = None
    report = dispatch(sessions, cfg, environ={"TEAM_SLACK_URL": slack.webhook("ok")}, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    assert (row(sessions, nid).state, row(sessions, nid).attempts) == ("sent", 2)


def test_a_split_message_resends_only_the_parts_slack_did_not_confirm(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = config(WEBHOOK)
    # 120 entities, each promoted: one group per entity, far more than 50 blocks.
    names = [f"Service {i:03d}" for i in range(120)]
    [nid] = seed_documents(
        sessions,
        cfg,
        [record(n, "not_available") for n in names],
        [record(n, "available") for n in names],
    )
    env = {"TEAM_SLACK_URL": slack.webhook("nth-2")}  # the second post fails once
    report = dispatch(sessions, cfg, environ=env, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["retry", "sent"]
    posts = slack.received()
    headers = [p.body["blocks"][0]["text"]["text"] for p in posts]
    total = int(headers[0].rsplit(" of ", 1)[1].rstrip(")"))
    assert total >= 3
    assert len(posts) == total + 1, "only the refused part is posted again"
    assert headers[1] == headers[2] and headers[1].endswith(f"(part 2 of {total})")
    for p in posts:
        assert len(p.body["blocks"]) <= 50
    shown = "".join(str(p.body["blocks"]) for p in posts[:1] + posts[2:])
    assert all(f"Service {i:03d}" in shown for i in range(120))
    n = row(sessions, nid)
    assert n.state == "sent" and n.deliveries == {
        f"part {i} of {total}": "sent" for i in range(1, total + 1)
    }
