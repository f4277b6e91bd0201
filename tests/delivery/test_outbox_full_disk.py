"""The disk fills while `watcher dispatch` is sending: Slack confirms, recording it fails. The
command stops with one line saying the database is full (exit 1), sends nothing more that it
could not record, leaves the database whole, and once there is room again the next run
delivers the rest with one duplicate at most (the part Slack confirmed last) — issue 16,
item 2.

SQLite on a real full filesystem: a tmpfs of the test's own (root only; skipped otherwise),
filled while the real Slack-like server holds a post. PostgreSQL is not tested here: its
server's disk cannot be filled safely from a test (it would take down every database of
the server, and its WAL with them).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ROOT
from tests.delivery.conftest import config as make_config
from tests.delivery.conftest import record, route, row, seed_documents
from tests.delivery.servers import SlackServer
from tests.delivery.test_outbox import SLACK_ROUTE, watcher_env, write_config
from tests.delivery.test_outbox_split import (
    after_the_lease,
    dispatch_again,
    parts,
    seed_split,
)
from tests.disk import fill, small_filesystem
from watcher.storage.engine import ensure_schema, make_engine, session_factory

FULL = re.compile(r"^watcher: database sqlite:///\S+: database or disk is full\n$")


@pytest.fixture
def small_db(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A SQLite database on an 8 MiB filesystem of its own."""
    with small_filesystem(tmp_path / "fs", "8m") as where:
        url = f"sqlite:///{where / 'watcher.db'}"
        engine = make_engine(url)
        ensure_schema(engine)
        yield url, session_factory(engine)
        engine.dispose()


def dispatch_until_full(
    url: str, env: dict[str, str], slack: SlackServer, filler: Path
) -> subprocess.CompletedProcess[str]:
    """`watcher dispatch` while Slack holds a post; the disk fills, then Slack confirms."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "dispatch", "--lease", "60"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert slack.held.wait(30), "the dispatcher never posted"
        fill(filler, leave=0)
        slack.release()
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def integrity(url: str) -> str:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def test_a_full_disk_after_slack_confirmed_a_part_stops_the_run_in_one_line(
    small_db: tuple[str, sessionmaker[Session]], tmp_path: Path, slack: SlackServer
) -> None:
    url, sessions = small_db
    notification = seed_split(sessions)
    env = watcher_env(
        url, write_config(tmp_path, SLACK_ROUTE), TEAM_SLACK_URL=slack.webhook("hold-2")
    )
    filler = Path(url.removeprefix("sqlite:///")).parent / "filler"
    died = dispatch_until_full(url, env, slack, filler)
    assert died.returncode == 1, died.stdout + died.stderr
    assert FULL.match(died.stderr), died.stderr
    # Part 2 was confirmed and could not be recorded: part 3 was never sent.
    assert parts(slack) == {1: 1, 2: 1}
    assert integrity(url) == "ok"
    n = row(sessions, notification)
    assert (n.state, n.deliveries) == ("sending", {"part 1 of 3": "sent"})
    # Room again: the next run (once the lease is over) sends part 2 again, then part 3.
    filler.unlink()
    after_the_lease(sessions, notification)
    dispatch_again(env)
    assert parts(slack) == {1: 1, 2: 2, 3: 1}
    assert row(sessions, notification).state == "sent"
    assert integrity(url) == "ok"


def test_a_full_disk_when_recording_sent_loses_nothing_and_sends_it_once_more(
    small_db: tuple[str, sessionmaker[Session]], tmp_path: Path, slack: SlackServer
) -> None:
    url, sessions = small_db
    cfg = make_config(route("team", "slack", webhook_url_env="TEAM_SLACK_URL"))
    names = ("Azure Functions", "Azure Batch", "Azure Maps")
    [notification] = seed_documents(
        sessions,
        cfg,
        [record(n, "not_available") for n in names],
        [record(n, "available") for n in names],
    )
    env = watcher_env(
        url, write_config(tmp_path, SLACK_ROUTE), TEAM_SLACK_URL=slack.webhook("hold")
    )
    filler = Path(url.removeprefix("sqlite:///")).parent / "filler"
    died = dispatch_until_full(url, env, slack, filler)
    assert died.returncode == 1, died.stdout + died.stderr
    assert FULL.match(died.stderr), died.stderr
    assert len(slack.received()) == 1
    assert integrity(url) == "ok"
    assert row(sessions, notification).state == "sending"
    filler.unlink()
    after_the_lease(sessions, notification)
    dispatch_again(env)
    assert len(slack.received()) == 2  # the one duplicate: Slack's confirmation was lost
    assert row(sessions, notification).state == "sent"
    dispatch_again(env)
    assert len(slack.received()) == 2
