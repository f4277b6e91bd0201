"""The notification commands end to end: `notifications`, `dispatch`, `notify test`, `config
check`, `check` dispatching after its checks, and crashes (SIGKILL) around a delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.cliutil import run, run_json
from tests.conftest import ROOT
from tests.delivery.conftest import FAST, PAGE_URL, SOURCE, pair, route, row, seed_small
from tests.delivery.conftest import config as make_config
from tests.delivery.servers import SlackServer, SmtpServer
from tests.origin import Origin, serve_origin
from watcher.cli import cli
from watcher.config import resolve
from watcher.delivery.outbox import DispatchPolicy, DispatchReport, dispatch
from watcher.storage.engine import make_engine, session_factory

FAST_NO_LINGER = replace(FAST, linger=0)

FIELDS = {
    "id",
    "route",
    "channel",
    "state",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
    "from_snapshot",
    "to_snapshot",
}


def write_config(tmp_path: Path, routes: str, url: str = PAGE_URL) -> str:
    path = tmp_path / "watcher.toml"
    sources = f'[[sources]]\nname = "{SOURCE}"\nurl = "{url}"\nformat = "markdown"\n\n'
    path.write_text(sources + textwrap.dedent(routes), encoding="utf-8")
    return str(path)


SLACK_ROUTE = """
[[routes]]
name = "team"
channel = "slack"
webhook_url_env = "TEAM_SLACK_URL"
timeout = 2
"""


def invoke(*args: str, env: dict[str, str], code: int = 0) -> str:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == code, f"exit {result.exit_code}\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def import_pair(db: str, config: str, corpus: Path) -> None:
    run("import", *map(str, pair(corpus)), "--source", SOURCE, "--notify", db=db, config=config)


def test_notifications_lists_the_outbox_and_dispatch_sends_it(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    [pending] = run_json("notifications", db=db_url, config=config)
    assert set(pending) >= FIELDS
    assert (pending["route"], pending["channel"], pending["state"]) == ("team", "slack", "pending")
    assert (pending["from_snapshot"], pending["to_snapshot"]) == (1, 2)
    env = {"TEAM_SLACK_URL": slack.webhook("ok")}
    out = invoke("--db", db_url, "--config", config, "dispatch", env=env)
    assert "notification 1 (changes) on route team: sent" in out
    assert "1 sent, 0 dead, 0 still failing" in out
    [sent] = run_json("notifications", "--state", "sent", db=db_url, config=config)
    assert sent["attempts"] == 1 and sent["sent_at"] and sent["last_error"] is None
    assert run_json("notifications", "--state", "pending", db=db_url, config=config) == []
    csv_out = run("notifications", "--format", "csv", db=db_url, config=config).stdout
    assert csv_out.splitlines()[0].startswith("id,route,channel")


def test_dispatch_exits_1_when_a_notification_goes_dead(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    env = {"TEAM_SLACK_URL": slack.webhook("forbidden")}
    out = invoke("--db", db_url, "--config", config, "dispatch", env=env, code=1)
    assert "DEAD after 1 attempt(s): HTTP 403" in out
    [dead] = run_json("notifications", "--state", "dead", db=db_url, config=config)
    assert "403" in dead["last_error"]


def test_dispatch_exits_1_while_a_notification_stays_failing(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    env = {"TEAM_SLACK_URL": slack.webhook("error")}
    out = invoke("--db", db_url, "--config", config, "dispatch", "--linger", "0", env=env, code=1)
    assert "failed (HTTP 500" in out and "1 still failing" in out


def test_retry_after_leaves_the_row_pending_when_it_is_beyond_the_run(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = make_config(route("team", "slack", webhook_url_env="TEAM_SLACK_URL"))
    [nid] = seed_small(sessions, cfg)
    env = {"TEAM_SLACK_URL": slack.webhook("ratelimited-2")}
    report = dispatch(sessions, cfg, environ=env, policy=DispatchPolicy(linger=0))
    assert report.failed and report.still_failing == 1
    n = row(sessions, nid)
    assert n.state == "pending" and n.next_attempt_at is not None
    assert 1.5 < (n.next_attempt_at - n.created_at).total_seconds() < 60
    # Not due yet: a run now sends nothing.
    assert dispatch(sessions, cfg, environ=env, policy=DispatchPolicy(linger=0)).deliveries == []
    assert len(slack.received()) == 1


def test_notify_test_sends_one_message_now(db_url: str, tmp_path: Path, slack: SlackServer) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    out = invoke(
        "--db", db_url, "--config", config, "notify", "test", "team",
        env={"TEAM_SLACK_URL": slack.webhook("ok")},
    )  # fmt: skip
    assert "route team: sent" in out
    [got] = slack.received()
    assert "test message for route team" in str(got.body["blocks"])
    [logged] = run_json("notifications", db=db_url, config=config)
    assert (logged["kind"], logged["state"]) == ("test", "sent")
    # A failing test is reported at once, and not retried later.
    out = invoke(
        "--db", db_url, "--config", config, "notify", "test", "team",
        env={"TEAM_SLACK_URL": slack.webhook("error")}, code=1,
    )  # fmt: skip
    assert "DEAD" in out and "HTTP 500" in out
    invoke("--db", db_url, "--config", config, "notify", "test", "nope", env={}, code=2)


def test_config_check_names_each_missing_secret_variable(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        SLACK_ROUTE
        + """
[[routes]]
name = "mail"
channel = "email"
smtp_host = "smtp.example.com"
smtp_username_env = "MAIL_USER"
smtp_password_env = "MAIL_PASSWORD"
from = "watcher@example.com"
to = ["team@example.com"]
""",
    )
    result = CliRunner().invoke(
        cli, ["--config", config, "config", "check"], env={"MAIL_USER": "someone-9876"}
    )
    assert result.exit_code == 2
    assert "route team: webhook_url_env: the environment variable TEAM_SLACK_URL is not set" in (
        result.stderr
    )
    assert "route mail: smtp_password_env: the environment variable MAIL_PASSWORD is not set" in (
        result.stderr
    )
    assert "MAIL_USER" not in result.stderr and "someone-9876" not in result.output
    env = {"MAIL_USER": "u", "MAIL_PASSWORD": "p", "TEAM_SLACK_URL": "https://hooks.example/x"}
    ok = CliRunner().invoke(cli, ["--config", config, "config", "check"], env=env)
    assert ok.exit_code == 0 and ok.stdout.endswith("ok\n")


def check_baseline_then_next(
    db_url: str, tmp_path: Path, corpus: Path, webhook: str, code: int
) -> tuple[str, str]:
    """`check` on the first page (a baseline), then on the next one: the config and the
    second check's output."""
    first, second = (p.read_bytes() for p in pair(corpus))
    with serve_origin(Origin(body=first)) as origin:
        config = write_config(tmp_path, SLACK_ROUTE, url=origin.url)
        env = {"TEAM_SLACK_URL": webhook}
        invoke("--db", db_url, "--config", config, "check", env=env)
        origin.body = second
        out = invoke("--db", db_url, "--config", config, "check", env=env, code=code)
    return config, out


def test_check_dispatches_what_it_queued(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    _, out = check_baseline_then_next(db_url, tmp_path, corpus, slack.webhook("ok"), 0)
    assert "1 notification(s) queued" in out
    assert "notification 1 (changes) on route team: sent" in out
    # One message only: the baseline sent nothing.
    [got] = slack.received()
    assert "21 promotions" in got.body["blocks"][0]["text"]["text"]


def test_check_exits_1_when_a_delivery_failed_and_keeps_what_it_stored(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    # Slack refuses the webhook for good: the row is dead at once, no retry to wait for.
    config, out = check_baseline_then_next(db_url, tmp_path, corpus, slack.webhook("forbidden"), 1)
    assert "1 notification(s) queued" in out
    assert "notification 1 (changes) on route team: DEAD after 1 attempt(s): HTTP 403" in out
    assert len(run_json("snapshots", db=db_url, config=config)) == 2
    [row] = run_json("notifications", db=db_url, config=config)
    assert row["state"] == "dead"


# --- crashes ----------------------------------------------------------------------------


def watcher_env(db: str, config: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    env.update(WATCHER_DATABASE_URL=db, WATCHER_CONFIG=config, PYTHONPATH=str(ROOT), **extra)
    return env


COMMIT_THEN_DIE = """
import os, signal, sys
from pathlib import Path
from watcher.config import resolve
from watcher.storage.engine import ensure_schema, make_engine, session_factory
from watcher.ingest.importer import ImportItem, import_pages

settings = resolve(None, None)
engine = make_engine(settings.database_url)
ensure_schema(engine)
items = [ImportItem(Path(p), Path(p).read_bytes()) for p in sys.argv[1:]]
import_pages(session_factory(engine), "azure-managed-identities", items,
             routes=settings.config.routes, notify=True)
# Committed. Die before anything could dispatch: no cleanup, no atexit, no flush.
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_killed_after_the_commit_and_before_dispatch_the_next_dispatch_delivers(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path, sessions: sessionmaker[Session]
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    env = watcher_env(db_url, config, TEAM_SLACK_URL=slack.webhook("ok"))
    died = subprocess.run(
        [sys.executable, "-c", COMMIT_THEN_DIE, *map(str, pair(corpus))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert slack.received() == []
    assert row(sessions, 1).state == "pending"
    # The next `watcher dispatch` (here run in-process) delivers it.
    out = invoke("--db", db_url, "--config", config, "dispatch", env=env)
    assert "route team: sent" in out
    assert len(slack.received()) == 1
    assert row(sessions, 1).state == "sent"


def test_killed_after_the_send_and_before_it_is_marked_sent_gives_one_duplicate_at_most(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path, sessions: sessionmaker[Session]
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    env = watcher_env(db_url, config, TEAM_SLACK_URL=slack.webhook("hold"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "dispatch", "--lease", "60"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert slack.held.wait(30), "the dispatcher never posted"
        # Slack has the message; the dispatcher dies before it hears back.
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    slack.release()
    n = row(sessions, 1)
    assert (n.state, n.attempts) == ("sending", 1)
    cfg = resolve(config, db_url).config
    environ = {"TEAM_SLACK_URL": slack.webhook("hold")}
    # Its claimer is gone (killed, on this host): the next dispatch takes it over at once,
    # without waiting for the lease to run out, and sends it again: one duplicate, no loss.
    report = dispatch(sessions, cfg, environ=environ, policy=FAST_NO_LINGER)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    assert len(slack.received()) == 2
    n = row(sessions, 1)
    assert (n.state, n.attempts) == ("sent", 2)
    assert dispatch(sessions, cfg, environ=environ).deliveries == []
    assert len(slack.received()) == 2


def test_concurrent_dispatchers_never_send_the_same_row_twice(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path, sessions: sessionmaker[Session]
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    cfg = resolve(config, db_url).config
    environ = {"TEAM_SLACK_URL": slack.webhook("ok")}
    engines = [make_engine(db_url) for _ in range(4)]
    start = threading.Barrier(len(engines))
    reports: list[DispatchReport] = []

    def one(engine: Engine) -> None:
        start.wait()
        reports.append(dispatch(session_factory(engine), cfg, environ=environ, policy=FAST))

    threads = [threading.Thread(target=one, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for e in engines:
        e.dispose()
    assert sorted(len(r.deliveries) for r in reports) == [0, 0, 0, 1]
    assert len(slack.received()) == 1
    assert row(sessions, 1).attempts == 1


def test_the_daemon_delivers_what_its_checks_queue(
    tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    first, second = pair(corpus)
    db = f"sqlite:///{tmp_path / 'daemon.db'}"
    with serve_origin(Origin(body=second.read_bytes())) as origin:
        config = write_config(tmp_path, SLACK_ROUTE, url=origin.url)
        # The 2021-01-28 page is the baseline; the daemon's first check fetches 2021-11-09.
        run("import", str(first), "--source", SOURCE, db=db, config=config)
        env = watcher_env(db, config, TEAM_SLACK_URL=slack.webhook("ok"))
        proc = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert slack.arrived.wait(30), "the daemon never delivered"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    [got] = slack.received()
    assert "21 promotions" in got.body["blocks"][0]["text"]["text"]


def test_an_email_whose_html_cannot_render_is_dead_at_once_and_nothing_is_sent(
    sessions: sessionmaker[Session], smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A broken template (a fault no real server produces): the HTML part renders on first
    # use, and the failure must be the row's one dead verdict, not a send retried until it
    # runs out of attempts with an error logged each time.
    import watcher.delivery.render.email as email_render

    def broken(template: str, **values: object) -> str:
        raise RuntimeError(f"{template}: the template is broken")

    monkeypatch.setattr(email_render, "html", broken)
    monkeypatch.setattr("watcher.delivery.render.compose.html", broken)
    mail = route(
        "mail",
        "email",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        to=["team@example.com"],
        **{"from": "watcher@example.com"},
    )
    cfg = make_config(mail)
    [notification_id] = seed_small(sessions, cfg)
    dispatch(sessions, cfg, environ={}, policy=FAST)
    n = row(sessions, notification_id)
    assert (n.state, n.attempts) == ("dead", 1)
    assert "cannot render: RuntimeError" in (n.last_error or "")
    assert smtp.mails == []
