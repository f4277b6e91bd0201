"""A change set split into Slack parts, and a `watcher dispatch` killed (SIGKILL) between its
parts: the next run resumes at the first part Slack has not confirmed, so the parts reach
Slack once each, but for at most one duplicate (the part in flight at the kill) — issue 16,
item 1. A real subprocess, a real local Slack-like server, SQLite and PostgreSQL.

``WATCHER_TEST_SPLIT_TRIALS`` sets how many kill-at-a-random-point trials run (5 by
default; a crash campaign runs hundreds).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ROOT
from tests.delivery.conftest import config as make_config
from tests.delivery.conftest import record, route, row, seed_documents
from tests.delivery.servers import SlackServer
from tests.delivery.test_outbox import SLACK_ROUTE, watcher_env, write_config
from watcher.storage.models import Notification

# A hundred promotions, one entity each: a section block apiece, three Slack parts.
NAMES = [f"Azure Service {i:03d}" for i in range(100)]
PARTS = 3
TRIALS = int(os.environ.get("WATCHER_TEST_SPLIT_TRIALS", "5"))
PART = re.compile(r"\(part (\d+) of (\d+)\)$")


def seed_split(sessions: sessionmaker[Session]) -> int:
    cfg = make_config(route("team", "slack", webhook_url_env="TEAM_SLACK_URL"))
    [queued] = seed_documents(
        sessions,
        cfg,
        [record(n, "not_available") for n in NAMES],
        [record(n, "available") for n in NAMES],
    )
    return queued


def parts(slack: SlackServer) -> Counter[int]:
    """How many times each part reached Slack."""
    seen: Counter[int] = Counter()
    for r in slack.received():
        found = PART.search(r.body["text"])
        assert found is not None and int(found[2]) == PARTS, r.body["text"][-60:]
        seen[int(found[1])] += 1
    return seen


def start_dispatch(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", "dispatch", "--lease", "60"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)


def after_the_lease(sessions: sessionmaker[Session], notification_id: int) -> None:
    """Move a dead dispatcher's claim a minute back: its lease is over (no waiting)."""
    with sessions.begin() as session:
        n = session.get_one(Notification, notification_id)
        if n.state == "sending" and n.next_attempt_at is not None:
            n.next_attempt_at -= timedelta(seconds=61)


def dispatch_again(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "dispatch"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_split_change_set_is_three_slack_parts(
    db_url: str, tmp_path: Path, slack: SlackServer, sessions: sessionmaker[Session]
) -> None:
    notification = seed_split(sessions)
    env = watcher_env(
        db_url, write_config(tmp_path, SLACK_ROUTE), TEAM_SLACK_URL=slack.webhook("ok")
    )
    dispatch_again(env)
    assert parts(slack) == {1: 1, 2: 1, 3: 1}
    n = row(sessions, notification)
    assert n.state == "sent"
    assert n.deliveries == {f"part {i} of 3": "sent" for i in (1, 2, 3)}


def test_killed_after_part_one_the_next_run_resumes_at_part_two(
    db_url: str, tmp_path: Path, slack: SlackServer, sessions: sessionmaker[Session]
) -> None:
    notification = seed_split(sessions)
    config = write_config(tmp_path, SLACK_ROUTE)
    env = watcher_env(db_url, config, TEAM_SLACK_URL=slack.webhook("hold-2"))
    proc = start_dispatch(env)
    try:
        # Slack confirmed part 1 and holds part 2: the dispatcher dies waiting for it.
        assert slack.held.wait(30), "the dispatcher never posted part 2"
    finally:
        kill(proc)
    slack.release()
    assert parts(slack) == {1: 1, 2: 1}
    # What Slack confirmed was recorded before the next part went out.
    n = row(sessions, notification)
    assert (n.state, n.deliveries) == ("sending", {"part 1 of 3": "sent"})
    after_the_lease(sessions, notification)
    dispatch_again(env)
    # Part 1 once; part 2 twice (it was in flight at the kill: the one duplicate); part 3.
    assert parts(slack) == {1: 1, 2: 2, 3: 1}
    assert row(sessions, notification).state == "sent"


@pytest.mark.parametrize("trial", range(TRIALS))
def test_killed_at_a_random_point_each_part_arrives_with_one_duplicate_at_most(
    trial: int, db_url: str, tmp_path: Path, slack: SlackServer, sessions: sessionmaker[Session]
) -> None:
    notification = seed_split(sessions)
    config = write_config(tmp_path, SLACK_ROUTE)
    # Each part takes Slack 150 ms: the kill falls before, between or inside the posts.
    env = watcher_env(db_url, config, TEAM_SLACK_URL=slack.webhook("slow-150"))
    delay = random.Random(f"{trial}:{db_url[:8]}").uniform(0.0, PARTS * 0.15 + 0.25)
    proc = start_dispatch(env)
    try:
        assert slack.arrived.wait(30), "the dispatcher never posted"
        time.sleep(delay)
    finally:
        kill(proc)
    after_the_lease(sessions, notification)
    dispatch_again(env)
    seen = parts(slack)
    assert set(seen) == {1, 2, 3}, f"a part was lost (killed {delay:.3f} s in): {seen}"
    duplicates = sum(seen.values()) - PARTS
    assert duplicates <= 1, f"killed {delay:.3f} s after the first post: {seen}"
    assert row(sessions, notification).state == "sent"


def test_a_live_dispatcher_keeps_its_claim_while_its_parts_outlast_the_lease(
    db_url: str, tmp_path: Path, slack: SlackServer, sessions: sessionmaker[Session]
) -> None:
    """Each confirmed part renews the claim: a second dispatcher started after the first
    one's lease would have run out finds the row still claimed, and the parts arrive once
    (before, it took the row over mid-message and both posted parts 2 and 3)."""
    notification = seed_split(sessions)
    # Slack takes 2 s over each part, within the route's timeout.
    config = write_config(tmp_path, SLACK_ROUTE.replace("timeout = 2", "timeout = 10"))
    env = watcher_env(db_url, config, TEAM_SLACK_URL=slack.webhook("slow-2000"))
    # Three parts of 2 s each against a 3 s lease: the message outlasts the lease twice.
    first = subprocess.Popen(
        [sys.executable, "-m", "watcher", "dispatch", "--lease", "3"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert slack.arrived.wait(30), "the first dispatcher never posted"
        time.sleep(3.5)  # past the claim's first lease, while part 2 is in flight
        dispatch_again(env)
        assert first.wait(60) == 0
    finally:
        kill(first)
    assert parts(slack) == {1: 1, 2: 1, 3: 1}
    assert row(sessions, notification).state == "sent"
