"""The daemon's journal and /metrics, read the way an operator reads them: `watcher run` as a
real subprocess against a real origin and a real Slack stand-in, its stderr and its /metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.cli.test_daemon import free_port, wait_for
from tests.conftest import EN_CHAIN, STATUS_CHAIN
from tests.delivery.servers import SlackServer
from tests.origin import Origin, serve_origin
from watcher import journal
from watcher.audit.status import source_states
from watcher.config import Config
from watcher.delivery.outbox import outbox_counts
from watcher.delivery.states import STATES
from watcher.domain.outcome import Outcome
from watcher.ingest.importer import ImportItem, import_pages
from watcher.storage.models import Notification, Source

SECRET = "T0JOURNAL/B0JOURNAL/hush-hush-webhook-secret"
# What `journalctl -u watcher` shows after its own prefix: time, level, logger, message.
LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) ([\w.]+): (.*)$"
)


def write_config(tmp_path: Path, url: str, routes: str = "") -> Path:
    path = tmp_path / "w.toml"
    path.write_text(
        f'[[sources]]\nname = "mi"\nurl = "{url}"\nformat = "markdown"\nevery = "1s"\n'
        "attempts = 1\ntimeout = 5\nfailing_after = 2\n" + routes
    )
    return path


def slack_route(name: str, env: str) -> str:
    return f'\n[[routes]]\nname = "{name}"\nchannel = "slack"\nwebhook_url_env = "{env}"\n'


@contextmanager
def run_daemon(
    config: Path, db: str, *options: str, metrics_port: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[str]]:
    argv = [sys.executable, "-m", "watcher", "--config", str(config), "--db", db, *options]
    argv += ["run", "--metrics-port", str(metrics_port)]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    return err


def samples(port: int) -> dict[str, float]:
    """Every sample on /metrics, keyed by its name and labels as Prometheus prints them."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.ConnectError:
        return {}  # not serving yet
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


def state_series(port: int) -> dict[str, float]:
    return {
        state: samples(port).get(f'watcher_source_state{{source="mi",state="{state}"}}', -1.0)
        for state in ("ok", "failing", "stale", "quarantined")
    }


def only(state: str) -> dict[str, float]:
    return {s: float(s == state) for s in ("ok", "failing", "stale", "quarantined")}


def test_the_journal_and_metrics_tell_checks_change_sets_deliveries_and_quarantine(
    tmp_path: Path, db_url: str
) -> None:
    db = db_url
    port = free_port()
    slack = SlackServer().start()
    env = {
        "HOOK_OK": slack.webhook("ok", SECRET),
        "HOOK_FLAKY": slack.webhook("flaky-5", SECRET),
        "HOOK_FORBIDDEN": slack.webhook("forbidden", SECRET),
    }
    routes = (
        slack_route("team", "HOOK_OK")
        + slack_route("flaky", "HOOK_FLAKY")
        + slack_route("refused", "HOOK_FORBIDDEN")
    )
    try:
        with serve_origin(Origin(body=EN_CHAIN[1].read_bytes())) as origin:
            config = write_config(tmp_path, origin.url, routes)
            with run_daemon(config, db, metrics_port=port, env=env) as proc:
                # Every series has samples from the start, before anything happened.
                assert wait_for(lambda: state_series(port) == only("ok"), 15), state_series(port)
                first = samples(port)
                for state in ("pending", "sending", "sent", "dead"):
                    assert f'watcher_notifications{{state="{state}"}}' in first
                assert first['watcher_check_failures_total{source="mi"}'] == 0

                origin.body = EN_CHAIN[2].read_bytes()
                assert wait_for(
                    lambda: samples(port).get('watcher_notifications{state="dead"}') == 1, 15
                )
                after = samples(port)
                assert after['watcher_notifications{state="sent"}'] == 1
                assert after['watcher_notifications{state="pending"}'] == 1  # to be retried
                assert after['watcher_changes_total{source="mi"}'] == 39

                origin.status = 500
                assert wait_for(lambda: state_series(port) == only("failing"), 15)

                origin.status = 200
                assert wait_for(lambda: state_series(port) == only("ok"), 15)

                origin.body = STATUS_CHAIN[0].read_bytes()  # the 2021 reformat: held back
                assert wait_for(lambda: state_series(port) == only("quarantined"), 15)
                err = stop(proc)
    finally:
        slack.stop()

    lines = [LINE.match(line) for line in err.splitlines()]
    assert all(lines), err
    parsed = [m.groups() for m in lines if m]
    # At the default level: watcher's own lines only, no detail, no library noise.
    assert {level for level, _, _ in parsed} <= {"INFO", "WARNING"}, err
    assert {logger for _, logger, _ in parsed} <= {"watcher.journal", "watcher.cli.daemon"}, err
    journal = [(level, message) for level, logger, message in parsed if logger == "watcher.journal"]
    said = [message for _, message in journal]
    # The first check, leaving aside a tick that met the catch-up check at its lease.
    ran = [m for m in said if not m.startswith("check mi: skipped: ")]
    assert ran[0] == "check mi: baseline, snapshot 1, 0 changes (344 records)"
    assert "check mi: unchanged, snapshot 2, 0 changes" in said  # the recovery
    changed = said.index("check mi: changed, snapshot 2, 39 changes")
    assert said[changed + 1 : changed + 4] == [
        "change set mi 1 → 2 queued for route team",
        "change set mi 1 → 2 queued for route flaky",
        "change set mi 1 → 2 queued for route refused",
    ]
    assert "notification 1 (changes) on route team: sent" in said
    retried = next(m for m in said if m.startswith("notification 2 "))
    assert re.fullmatch(
        r"notification 2 \(changes\) on route flaky: failed \(HTTP 500: server_error\); "
        r"retry at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z",
        retried,
    ), retried
    dead = "notification 3 (changes) on route refused: DEAD after 1 attempt(s): HTTP 403: "
    assert ("WARNING", dead + "invalid_token") in journal
    failed = [(lv, m) for lv, m in journal if m.startswith("check mi: failed: ")]
    assert failed[0] == ("WARNING", f"check mi: failed: HTTP 500 from {origin_host(origin)}")
    assert ("INFO", "check mi: quarantined, snapshot 3, 0 changes") in journal
    quarantine = next(m for lv, m in journal if lv == "WARNING" and m.startswith("quarantine "))
    assert re.fullmatch(
        r"quarantine mi: snapshot 3 held back: \d+ of \d+ status cells are gone at once "
        r"\(more than 50%\); `watcher accept 3` or `watcher reject 3` decides it",
        quarantine,
    ), quarantine
    assert SECRET not in err


def origin_host(origin: Origin) -> str:
    host = origin.url.split("/")[2]
    return f"{host} (gave up after 1 attempts)"


def test_log_format_json_writes_one_object_per_line_with_the_fields(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    port = free_port()
    with serve_origin(Origin(body=EN_CHAIN[1].read_bytes())) as origin:
        config = write_config(tmp_path, origin.url)
        with run_daemon(config, db, "--log-format", "json", metrics_port=port) as proc:
            assert wait_for(lambda: state_series(port) == only("ok"), 15)
            origin.status = 500
            assert wait_for(lambda: state_series(port) == only("failing"), 15)
            err = stop(proc)
    entries = [json.loads(line) for line in err.splitlines()]
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])
    checks = [e for e in entries if e.get("event") == "check" and e["result"] != "skipped"]
    assert checks[0] == {
        "time": checks[0]["time"],
        "level": "INFO",
        "logger": "watcher.journal",
        "message": "check mi: baseline, snapshot 1, 0 changes (344 records)",
        "event": "check",
        "source": "mi",
        "result": "baseline",
        "snapshot": 1,
        "changes": 0,
        "notifications": 0,
    }
    failed = next(e for e in checks if e["result"] == "failed")
    assert failed["level"] == "WARNING" and failed["snapshot"] is None
    assert failed["error"].startswith("HTTP 500 from 127.0.0.1:")
    assert entries[0]["message"] == "watcher daemon started; sources: mi"


def test_verbose_adds_watcher_detail_and_a_second_v_the_libraries(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    with serve_origin(Origin(body=EN_CHAIN[1].read_bytes())) as origin:
        config = write_config(tmp_path, origin.url)
        loggers = {}
        for verbose in ("-v", "-vv"):
            port = free_port()
            with run_daemon(config, db, verbose, metrics_port=port) as proc:
                assert wait_for(lambda: len(origin.hits) >= 2, 15)
                err = stop(proc)
                origin.hits.clear()
            loggers[verbose] = {m.group(2) for line in err.splitlines() if (m := LINE.match(line))}
            assert re.search(
                r" DEBUG watcher\.ingest\.check: fetch mi: http://127\.0\.0\.1:\d+/page\.md: 200, "
                r"\d+ bytes in \d+ ms$",
                err,
                re.M,
            ), err
    assert not any(name.startswith(("httpx", "httpcore", "apscheduler")) for name in loggers["-v"])
    assert "httpx" in loggers["-vv"] and "apscheduler.scheduler" in loggers["-vv"]


@pytest.mark.parametrize("verbose", [[], ["-v"]])
def test_check_logs_the_journal_only_when_asked(tmp_path: Path, verbose: list[str]) -> None:
    """`watcher check` prints its own line per source; -v adds the journal on stderr."""
    db = f"sqlite:///{tmp_path / 'w.db'}"
    with serve_origin(Origin(body=EN_CHAIN[1].read_bytes())) as origin:
        config = write_config(tmp_path, origin.url)
        argv = [sys.executable, "-m", "watcher", "--config", str(config), "--db", db]
        done = subprocess.run(
            [*argv, *verbose, "check"], capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "mi: snapshot 1 baseline stored (344 records)\n"
    said = [m.groups() for line in done.stderr.splitlines() if (m := LINE.match(line))]
    if verbose:
        assert said == [
            ("INFO", "watcher.journal", "check mi: baseline, snapshot 1, 0 changes (344 records)")
        ], done.stderr
    else:
        assert done.stderr == ""


def test_no_line_carries_a_secret_whatever_its_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "_database_url", None)
    journal.hide_database_url("postgresql://watcher:pg-pass-1234@db.example/watcher")
    hook = "https://hooks.slack.com/services/T000/B000/abcdefghijkl"
    try:
        raise ConnectionError(f"cannot reach {hook} with password pg-pass-1234")
    except ConnectionError:
        record = logging.LogRecord(
            "watcher.journal",
            logging.WARNING,
            __file__,
            1,
            "sending to %s",
            (hook,),
            sys.exc_info(),
        )
    record.error = f"POST {hook} refused: 403"
    text = journal.TextFormatter().format(record)
    entry = json.loads(journal.JsonFormatter().format(record))
    for out in (text, json.dumps(entry)):
        assert "abcdefghijkl" not in out and "pg-pass-1234" not in out, out
    assert entry["message"] == "sending to [redacted]"
    assert entry["error"] == "POST [redacted] refused: 403"
    assert "ConnectionError: cannot reach [redacted] with password ***" in entry["exception"]


def test_outbox_counts_and_source_states(sessions: sessionmaker[Session]) -> None:
    """What the gauges are read from, on both databases."""
    config = Config.model_validate(
        {
            "sources": [
                {"name": "mi", "url": "https://example.com/p.md"},
                {"name": "other", "url": "https://example.com/q.md"},
                {"name": "never", "url": "https://example.com/r.md"},
            ]
        }
    )
    paths = [EN_CHAIN[2], STATUS_CHAIN[0]]  # the second is held back by the guard
    import_pages(sessions, "mi", [ImportItem(p, p.read_bytes()) for p in paths])
    import_pages(sessions, "other", [ImportItem(EN_CHAIN[2], EN_CHAIN[2].read_bytes())])
    with sessions() as session:
        # Imported history is not a check: "other" is not known to be ok (its gauge reads 0).
        assert source_states(session, config) == {
            "mi": "quarantined",
            "other": "never checked",
            "never": None,
        }
        assert outbox_counts(session) == dict.fromkeys(STATES, 0)
    with sessions.begin() as session:
        session.execute(update(Source).where(Source.name == "other").values(state="failing"))
        for n, state in enumerate(("pending", "dead", "dead", "sent")):
            session.add(
                Notification(
                    idempotency_key=f"k{n}",
                    route="r",
                    channel="stdout",
                    kind="test",
                    payload={},
                    state=state,
                )
            )
    with sessions() as session:
        assert source_states(session, config)["other"] == "failing"
        assert outbox_counts(session) == {
            **dict.fromkeys(STATES, 0),
            "pending": 1,
            "sent": 1,
            "dead": 2,
        }


@pytest.mark.parametrize(
    ("outcome", "line"),
    [
        (
            Outcome("mi", "quarantined", 3, detail="the page has no tables"),
            "quarantine mi: snapshot 3 held back: the page has no tables; "
            "`watcher accept 3` or `watcher reject 3` decides it",
        ),
        (
            # Seen again: its detail says what decides it already; the journal says it once.
            Outcome(
                "mi",
                "quarantined",
                3,
                detail="seen again (3 checks so far), still held: x; "
                "`watcher accept 3` or `watcher reject 3` decides it",
            ),
            "quarantine mi: snapshot 3 held back: seen again (3 checks so far), still held: x; "
            "`watcher accept 3` or `watcher reject 3` decides it",
        ),
        (
            Outcome("mi", "quarantined", 2, detail="snapshot 2 again, rejected", rejected=True),
            "quarantine mi: snapshot 2 held back: snapshot 2 again, rejected",
        ),
    ],
)
def test_a_quarantine_line_names_the_deciding_commands_once(
    outcome: Outcome, line: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="watcher.journal"):
        journal.check(outcome)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [line]
