"""Claims on outbox rows: a row whose dispatcher was killed mid-send (SIGKILL) shows as stuck
in `watcher notifications` and `watcher status`, counts as still failing, and is taken over
at once; a live claim is left alone; and a source's change sets reach a route in order."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN, ROOT
from tests.delivery.conftest import FAST, SOURCE, row
from tests.delivery.servers import SlackServer
from tests.delivery.test_outbox import SLACK_ROUTE, import_pair, watcher_env, write_config
from watcher.config import resolve
from watcher.delivery import claim as claims
from watcher.delivery.outbox import dispatch
from watcher.domain.times import utcnow
from watcher.storage.lease import Holder
from watcher.storage.models import Notification

FAST_NO_LINGER = replace(FAST, linger=0)


def kill_mid_send(db_url: str, config: str, slack: SlackServer) -> int:
    """`watcher dispatch` killed once Slack has its message and before it hears back."""
    env = watcher_env(db_url, config, TEAM_SLACK_URL=slack.webhook("hold"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "dispatch"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert slack.held.wait(30), "the dispatcher never posted"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    slack.release()
    return proc.pid


def test_a_row_whose_dispatcher_was_killed_shows_stuck_and_is_taken_over_at_once(
    db_url: str,
    tmp_path: Path,
    slack: SlackServer,
    corpus: Path,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    pid = kill_mid_send(db_url, config, slack)
    # The lease has five minutes to run, but its process is gone: nobody is sending it.
    [stuck] = run_json("notifications", db=db_url, config=config)
    assert stuck["state"] == "sending" and stuck["stuck_since"] is not None
    assert stuck["claimed_by"] == f"pid {pid} on host {socket.gethostname()}"
    table = run("notifications", db=db_url, config=config).stdout
    assert "stuck_since" in table and stuck["stuck_since"][:19] in table
    [status] = run_json("status", db=db_url, config=config)
    assert (status["pending"], status["stuck"]) == (0, 1)
    assert claims.still_failing(sessions, None) == 1
    # The next dispatch takes it over at once: one duplicate at most, never a loss.
    monkeypatch.setenv("TEAM_SLACK_URL", slack.webhook("ok"))
    out = run("dispatch", db=db_url, config=config).stdout
    assert "notification 1 (changes) on route team: sent" in out
    assert out.endswith("1 sent, 0 dead, 0 still failing\n")
    assert len(slack.received()) == 2
    [sent] = run_json("notifications", db=db_url, config=config)
    assert (sent["state"], sent["stuck_since"], sent["claimed_by"]) == ("sent", None, None)


def test_a_live_claim_and_one_from_another_host_stand_until_the_lease_is_over(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path, sessions: sessionmaker[Session]
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    cfg = resolve(config, db_url).config
    environ = {"TEAM_SLACK_URL": slack.webhook("ok")}
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        for claimer in (Holder.of(sleeper.pid), Holder("elsewhere", sleeper.pid)):
            with sessions.begin() as session:
                session.execute(
                    update(Notification).values(
                        state="sending",
                        claimed_by=str(claimer),
                        claimed_at=utcnow(),
                        next_attempt_at=utcnow() + timedelta(minutes=5),
                    )
                )
            assert dispatch(sessions, cfg, environ=environ, policy=FAST_NO_LINGER).deliveries == []
            [shown] = run_json("notifications", db=db_url, config=config)
            assert shown["stuck_since"] is None  # being sent, as far as anyone can tell
            assert claims.still_failing(sessions, None) == 0
    finally:
        sleeper.kill()
        sleeper.wait(10)
    assert slack.received() == []
    # Once the lease is over, it is anyone's again.
    with sessions.begin() as session:
        session.execute(update(Notification).values(next_attempt_at=utcnow()))
    assert run_json("notifications", db=db_url, config=config)[0]["stuck_since"] is not None
    report = dispatch(sessions, cfg, environ=environ, policy=FAST_NO_LINGER)
    assert [d.outcome for d in report.deliveries] == ["sent"]


def import_chain(db_url: str, config: str) -> None:
    """Three real versions of the page: two change sets of one source, on one route."""
    run("import", *map(str, EN_CHAIN), "--source", SOURCE, "--notify", db=db_url, config=config)


def test_a_sources_change_sets_reach_a_route_in_order_while_the_first_is_retried(
    db_url: str, tmp_path: Path, slack: SlackServer, sessions: sessionmaker[Session]
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_chain(db_url, config)
    cfg = resolve(config, db_url).config
    # The first post fails (500, retried in milliseconds); every later one is confirmed.
    environ = {"TEAM_SLACK_URL": slack.webhook("flaky-1")}
    report = dispatch(sessions, cfg, environ=environ, policy=FAST)
    assert [(d.id, d.outcome) for d in report.deliveries] == [
        (1, "retry"),
        (1, "sent"),
        (2, "sent"),
    ]
    first, second = (row(sessions, i) for i in (1, 2))
    assert first.sent_at is not None and second.sent_at is not None
    assert first.sent_at <= second.sent_at
    # What Slack got, in the order it got it: change set 1 (66 changes, in two parts, the
    # first tried twice), then change set 2.
    posted = [r.body["blocks"][0]["text"]["text"].split(": ")[1] for r in slack.received()]
    assert [p.split(" (")[0] for p in posted] == 3 * ["66 changes"] + ["25 changes"]


def test_a_dead_change_set_does_not_hold_back_the_next(
    db_url: str, tmp_path: Path, slack: SlackServer, sessions: sessionmaker[Session]
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_chain(db_url, config)
    cfg = resolve(config, db_url).config
    environ = {"TEAM_SLACK_URL": slack.webhook("flaky-1")}
    report = dispatch(sessions, cfg, environ=environ, policy=replace(FAST, max_attempts=1))
    outcomes = [(d.id, d.kind, d.outcome) for d in report.deliveries]
    assert outcomes[:2] == [(1, "changes", "dead"), (2, "changes", "sent")]
    assert (row(sessions, 1).state, row(sessions, 2).state) == ("dead", "sent")
