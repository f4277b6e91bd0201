"""Digests across processes, each `watcher dispatch` a process of its own with its clock set by
time-machine: a held change set survives restarts and goes once, at the digest time (a
weekly one across the spring DST change too); two dispatchers at the digest time send one
message; a dispatcher killed (SIGKILL) mid-digest loses nothing and the next one sends the
digest again at most once more."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import PAGE_2025, ROOT, later_2025
from tests.delivery.conftest import PAGE_URL, SOURCE, config, route, row
from tests.delivery.digests import (
    MONDAY,
    NEXT_MORNING,
    at_time,
    clean_env,
    import_at,
    run_at,
    seed_three,
)
from tests.delivery.servers import SlackServer
from watcher.storage.models import Notification

DAILY = "daily 09:00 Europe/Berlin"
SENT_LINE = "Sent by watcher for route morning: its digest."


def write_config(tmp_path: Path, digest: str, channel: str = "stdout") -> Path:
    toml = tmp_path / "w.toml"
    hook = 'webhook_url_env = "TEAM_SLACK_URL"\n' if channel == "slack" else ""
    toml.write_text(
        f'[[sources]]\nname = "{SOURCE}"\nurl = "{PAGE_URL}"\nformat = "markdown"\n\n'
        f'[[routes]]\nname = "morning"\nchannel = "{channel}"\n{hook}digest = "{digest}"\n'
    )
    return toml


def digests(sessions: sessionmaker[Session]) -> list[Notification]:
    with sessions() as session:
        return list(session.scalars(select(Notification).where(Notification.kind == "digest")))


def test_held_across_restarts_and_sent_once_at_the_digest_time(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    toml = write_config(tmp_path, "daily 09:00 Europe/Berlin")
    ids = seed_three(sessions, config(route("morning", "stdout", digest=DAILY)), tmp_path)
    env = clean_env()
    args = ("--config", str(toml), "--db", db_url, "dispatch", "--linger", "1")
    assert SENT_LINE not in run_at(MONDAY.replace(hour=20), env, *args)
    assert SENT_LINE not in run_at(datetime(2026, 1, 13, 7, 59, 50, tzinfo=UTC), env, *args)
    assert {row(sessions, i).state for i in ids} == {"pending"}
    printed = run_at(NEXT_MORNING.replace(second=2), env, *args)
    assert printed.count(SENT_LINE) == 1
    assert "changed and changed back" in printed
    assert {row(sessions, i).state for i in ids} == {"sent"}
    assert SENT_LINE not in run_at(NEXT_MORNING.replace(minute=5), env, *args)
    assert len(digests(sessions)) == 1


def test_a_weekly_digest_goes_at_its_local_time_across_the_spring_change(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    toml = write_config(tmp_path, "weekly mon 09:00 Europe/Berlin")
    cfg = config(route("morning", "stdout", digest="weekly mon 09:00 Europe/Berlin"))
    # Friday 27 March 2026, CET; clocks go forward on Sunday: Monday 09:00 is 07:00 UTC.
    friday = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    import_at(sessions, cfg, friday, PAGE_2025)
    [nid] = import_at(sessions, cfg, friday.replace(hour=13), later_2025(tmp_path))
    env = clean_env()
    args = ("--config", str(toml), "--db", db_url, "dispatch", "--linger", "1")
    # 08:59 CEST: not yet, though it is past 08:00 UTC, the time in winter.
    assert SENT_LINE not in run_at(datetime(2026, 3, 30, 6, 59, 0, tzinfo=UTC), env, *args)
    assert row(sessions, nid).state == "pending"
    assert run_at(datetime(2026, 3, 30, 7, 0, 1, tzinfo=UTC), env, *args).count(SENT_LINE) == 1
    assert row(sessions, nid).state == "sent"
    [made] = digests(sessions)
    assert made.payload["at"] == "2026-03-30T07:00:00Z"


def test_two_dispatchers_at_the_digest_time_send_one_message(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path, slack: SlackServer
) -> None:
    toml = write_config(tmp_path, "daily 09:00 Europe/Berlin", channel="slack")
    cfg = config(route("morning", "stdout", digest=DAILY))
    ids = seed_three(sessions, cfg, tmp_path)
    env = clean_env(TEAM_SLACK_URL=slack.webhook("ok"))
    args = ("--config", str(toml), "--db", db_url, "dispatch", "--linger", "2")
    moment = NEXT_MORNING.replace(second=1)
    procs = [
        subprocess.Popen(
            at_time(moment, *args),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    [made] = digests(sessions)
    assert made.state == "sent"
    [post] = slack.received("ok")
    assert post.body["blocks"][0]["text"]["text"].startswith("morning digest: ")
    assert {row(sessions, i).state for i in ids} == {"sent"}


def test_killed_mid_digest_the_next_dispatcher_sends_it_with_one_duplicate_at_most(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path, slack: SlackServer
) -> None:
    toml = write_config(tmp_path, "daily 09:00 Europe/Berlin", channel="slack")
    ids = seed_three(sessions, config(route("morning", "stdout", digest=DAILY)), tmp_path)
    env = clean_env(TEAM_SLACK_URL=slack.webhook("hold"))
    args = ("--config", str(toml), "--db", db_url, "dispatch", "--linger", "1")
    moment = NEXT_MORNING.replace(second=1)
    proc = subprocess.Popen(
        at_time(moment, *args),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Slack has the digest and holds its answer: the dispatcher dies waiting for it.
        assert slack.held.wait(60), "the dispatcher never posted the digest"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    slack.release()
    [made] = digests(sessions)
    assert made.state == "sending"
    assert {row(sessions, i).state for i in ids} == {"pending"}
    # The claimer is gone: the next dispatcher takes the digest over at once and sends it.
    run_at(moment.replace(second=30), env, *args)
    assert row(sessions, made.id).state == "sent"
    assert {row(sessions, i).state for i in ids} == {"sent"}
    assert len(digests(sessions)) == 1
    posts = slack.received("hold")
    assert 1 <= len(posts) <= 2
    assert {p.body["text"] for p in posts} == {posts[0].body["text"]}
