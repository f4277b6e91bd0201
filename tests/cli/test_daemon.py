"""`watcher run` as a real subprocess against a real origin, and staleness with time-machine."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import update

from tests.cliutil import run_json
from tests.conftest import EN_CHAIN, NO_POSTGRES, POSTGRES_URL, reset_postgres
from tests.origin import Origin, serve_origin
from watcher.audit.status import status_rows
from watcher.config import load_config
from watcher.ingest.health import update_staleness
from watcher.storage.engine import ensure_schema, make_engine, session_factory
from watcher.storage.models import Source

PAGE = EN_CHAIN[1].read_bytes()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp_path: Path, url: str, every: str, name: str = "w.toml") -> Path:
    path = tmp_path / name
    path.write_text(
        "[[sources]]\n"
        'name = "mi"\n'
        f'url = "{url}"\n'
        'format = "markdown"\n'
        f'every = "{every}"\n'
        "attempts = 1\n"
        "timeout = 5\n"
    )
    return path


@contextmanager
def daemon(
    config: Path, db: str, metrics_port: int | None = None
) -> Iterator[subprocess.Popen[str]]:
    argv = [sys.executable, "-m", "watcher", "--config", str(config), "--db", db, "-v", "run"]
    if metrics_port is not None:
        argv += ["--metrics-port", str(metrics_port)]
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ)
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[str], timeout: float = 10) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_daemon_checks_on_schedule_survives_a_failing_origin_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    port = free_port()
    with serve_origin(Origin(body=PAGE)) as origin:
        config = write_config(tmp_path, origin.url, "1s")
        with daemon(config, db, port) as proc:
            assert wait_for(lambda: len(origin.hits) >= 3, 15), "no checks on schedule"
            health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            assert health.status_code == 200

            origin.status = 500
            failing_from = len(origin.hits)
            assert wait_for(lambda: len(origin.hits) >= failing_from + 2, 10)
            assert proc.poll() is None, "the daemon died on a failing origin"
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            assert 'watcher_check_failures_total{source="mi"}' in metrics

            origin.status = 200
            origin.delay = 1.0  # a check is running when SIGTERM arrives
            assert wait_for(lambda: origin.active > 0, 10)
            started = time.monotonic()
            code, out = stop(proc)
            assert code == 0, out
            assert time.monotonic() - started < 5
            assert "finishing the running check" in out
    snaps = run_json("snapshots", db=db)
    assert len(snaps) == 1 and snaps[0]["state"] == "accepted"
    (status,) = run_json("status", db=db, config=str(config))
    assert status["state"] == "ok" and status["failures_in_row"] == 0


def test_a_check_longer_than_its_interval_is_not_doubled(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    with serve_origin(Origin(body=PAGE, delay=2.5)) as origin:
        config = write_config(tmp_path, origin.url, "1s")
        with daemon(config, db) as proc:
            assert wait_for(lambda: len(origin.hits) >= 2, 15)
            time.sleep(1)
            code, out = stop(proc)
    assert code == 0, out
    assert origin.max_active == 1
    # Either the scheduler held back the overlapping run or the lease turned it away.
    assert "skipped a run of check:mi" in out or "check mi: skipped" in out, out


def test_downtime_over_several_ticks_gives_one_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    with serve_origin(Origin(body=PAGE)) as origin:
        config = write_config(tmp_path, origin.url, "1h")
        # A first life of the daemon checks once, then "goes down" for five hours.
        with daemon(config, db) as proc:
            assert wait_for(lambda: len(origin.hits) == 1, 15)
            stop(proc)
        engine = make_engine(db)
        with session_factory(engine).begin() as s:
            s.execute(update(Source).values(last_check_at=datetime.now(UTC) - timedelta(hours=5)))
        engine.dispose()
        with daemon(config, db) as proc:
            assert wait_for(lambda: len(origin.hits) == 2, 15)
            time.sleep(2)
            code, out = stop(proc)
    assert code == 0, out
    assert len(origin.hits) == 2, "downtime produced more than one catch-up check"


def test_two_daemons_on_one_postgres_database_fetch_once_per_tick(tmp_path: Path) -> None:
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    reset_postgres(POSTGRES_URL)
    engine = make_engine(POSTGRES_URL)
    ensure_schema(engine)  # so the two daemons do not race to create the schema
    engine.dispose()
    with serve_origin(Origin(body=PAGE)) as origin:
        config = write_config(tmp_path, origin.url, "2s")
        with daemon(config, POSTGRES_URL) as a, daemon(config, POSTGRES_URL) as b:
            assert wait_for(lambda: len(origin.hits) >= 1, 15)
            first = origin.hits[0]
            time.sleep(9)
            ca, out_a = stop(a)
            cb, out_b = stop(b)
    assert (ca, cb) == (0, 0), out_a + out_b
    hits = [h for h in origin.hits if h >= first]
    # Ticks are aligned to multiples of 2 s (plus up to 0.2 s jitter): one fetch per window.
    windows = [int(h // 2) for h in hits]
    assert len(windows) == len(set(windows)), f"two fetches in one tick: {hits}"
    assert len(hits) <= 6
    assert "skipped" in out_a + out_b


def test_staleness_with_time_machine(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(db)
    ensure_schema(engine)
    config = load_config(write_config(tmp_path, "http://127.0.0.1:9/page.md", "1h"))
    cfg = config.sources[0]
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False), session_factory(engine).begin() as s:
        s.add(Source(name="mi", url=cfg.url, format="markdown", last_success_at=start))
    later = time_machine.travel(start + timedelta(hours=23), tick=False)
    with later, session_factory(engine).begin() as s:
        source = s.query(Source).one()
        assert not update_staleness(s, source, cfg, ())
        assert status_rows(s, config)[0]["state"] == "ok"
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        with session_factory(engine).begin() as s:
            source = s.query(Source).one()
            assert update_staleness(s, source, cfg, ())
        with session_factory(engine)() as s:
            assert s.query(Source).one().state == "stale"
            assert status_rows(s, config)[0]["state"] == "stale"
    engine.dispose()


def test_sighup_reloads_the_config(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    with serve_origin(Origin(body=PAGE)) as first, serve_origin(Origin(body=PAGE)) as second:
        config = write_config(tmp_path, first.url, "1h")
        with daemon(config, db) as proc:
            assert wait_for(lambda: len(first.hits) == 1, 15)
            text = config.read_text() + (
                f'\n[[sources]]\nname = "second"\nurl = "{second.url}"\nformat = "markdown"\n'
                'every = "1h"\nattempts = 1\n'
            )
            config.write_text(text)
            proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: len(second.hits) == 1, 15), "the new source was not checked"
            config.write_text("[[sources]]\nname = broken\n")
            proc.send_signal(signal.SIGHUP)
            time.sleep(1)
            assert proc.poll() is None, "a bad config killed the daemon"
            code, out = stop(proc)
    assert code == 0
    assert "config reloaded: 2 source(s)" in out
    assert "config reload failed, keeping the old config" in out
    assert len(first.hits) == 1, "reloading re-checked a source that was not due"


def test_a_sigterm_while_the_scheduler_submits_a_job_stops_the_daemon_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signal handler runs on the main thread, which may be inside the scheduler's job
    processing: the stop must wait for it to let go, not pull the job store from under it
    (the daemon had exited 1 with a JobLookupError traceback after a clean check)."""
    from watcher.cli.daemon import Daemon
    from watcher.config import resolve

    db = f"sqlite:///{tmp_path / 'w.db'}"
    config = write_config(tmp_path, "http://127.0.0.1:9/page.md", "1h")
    engine = make_engine(db)
    ensure_schema(engine)
    daemon_ = Daemon(engine, lambda: resolve(str(config), db))
    threads = daemon_.scheduler.threads
    submit = threads.submit_job

    def signal_on_submit(job: Any, run_times: Any) -> None:
        # Exactly where the race struck (a timing no real server produces): SIGTERM lands
        # between the submission of a due job and the scheduler's write of its next run
        # time, under the job store's lock.
        submit(job, run_times)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(threads, "submit_job", signal_on_submit)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        daemon_.scheduler.add_job(lambda: None, id="tick", next_run_time=datetime.now(UTC))
        daemon_.start()  # returns once stopped; raised JobLookupError before the fix
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        engine.dispose()
    assert not daemon_.scheduler.running


def test_a_sigterm_during_a_check_that_queues_a_notification_stops_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check ends by asking for an immediate delivery, a job added to the scheduler: a
    stop that waited for it holding the scheduler's lock never ended (SIGKILL after systemd's
    timeout, the unit failed)."""
    db = f"sqlite:///{tmp_path / 'w.db'}"
    with serve_origin(Origin(body=EN_CHAIN[0].read_bytes())) as origin:
        config = write_config(tmp_path, origin.url, "1s")
        # A route (its webhook unreachable: no delivery needs to succeed) for the
        # changes to queue notifications to.
        with config.open("a") as f:
            f.write('\n[[routes]]\nname = "team"\nchannel = "slack"\n')
            f.write('webhook_url_env = "TEAM_SLACK_URL"\ntimeout = 1\n')
        monkeypatch.setenv("TEAM_SLACK_URL", "http://127.0.0.1:9/hook")
        with daemon(config, db) as proc:
            assert wait_for(lambda: len(origin.hits) >= 1 and origin.active == 0, 15)
            time.sleep(0.5)  # the baseline stored
            origin.body = PAGE  # the next version: changes, so notifications
            origin.delay = 1.5
            assert wait_for(lambda: origin.active > 0, 10)
            started = time.monotonic()
            code, out = stop(proc, timeout=20)
    assert code == 0, out
    assert time.monotonic() - started < 10, out
    assert "finishing the running check" in out
    assert "queued for route team" in out, out
    assert "watcher daemon stopped" in out


def test_the_scheduler_runs_queued_work_and_wakes_for_a_job_added_from_a_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """What a signal queues runs on the loop (a failing piece logged, not fatal), and a job
    another thread adds runs at once though nothing else is due."""
    from watcher.cli.daemon import Scheduler

    scheduler = Scheduler(timezone=UTC)
    ran = threading.Event()
    waited: list[float] = []

    def elsewhere() -> None:
        time.sleep(0.3)
        scheduler.ask(lambda: 1 / 0)
        time.sleep(0.6)  # the loop has polled past it, with nothing due
        added = time.monotonic()
        scheduler.add_job(ran.set)
        if ran.wait(5):
            waited.append(time.monotonic() - added)
        scheduler.ask(scheduler.stop)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    scheduler.start()  # returns once stopped
    thread.join()
    assert waited and waited[0] < 1.0, waited  # lost, it would wait for ever: nothing due
    assert "the daemon could not do what a signal asked" in caplog.text
    assert "ZeroDivisionError" in caplog.text
    assert not scheduler.running
