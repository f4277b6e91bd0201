"""A check's lease across real processes: `watcher check` killed (SIGKILL) mid-fetch leaves a
lease that the next `watcher check` takes over at once, and a check that meets a live holder
says which process holds the source, since when."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EN_CHAIN, ROOT
from tests.origin import Origin, serve_origin


@pytest.fixture
def origin() -> Iterator[Origin]:
    # Hangs for a minute per request until the test makes it answer at once.
    with serve_origin(Origin(EN_CHAIN[1].read_bytes(), delay=60.0)) as served:
        yield served


def write_config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "watcher.toml"
    path.write_text(
        f'[[sources]]\nname = "mi"\nurl = "{url}"\nformat = "markdown"\nattempts = 1\n'
        "timeout = 120\n",
        encoding="utf-8",
    )
    return str(path)


def watcher(db_url: str, config: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "watcher", "--db", db_url, "--config", config, *args]


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    return {**clean, "PYTHONPATH": str(ROOT)}


def start_hanging_check(db_url: str, config: str, origin: Origin) -> subprocess.Popen[bytes]:
    """A `watcher check` that holds the lease and waits on the origin."""
    seen = len(origin.hits)
    proc = subprocess.Popen(
        watcher(db_url, config, "check"),
        env=env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while len(origin.hits) == seen:
        assert proc.poll() is None, "the check ended before it fetched"
        assert time.monotonic() < deadline, "the check never fetched"
        time.sleep(0.05)
    return proc


def check(db_url: str, config: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        watcher(db_url, config, "check"),
        env=env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_killed_checks_lease_is_taken_over_at_once(
    db_url: str, tmp_path: Path, origin: Origin
) -> None:
    config = write_config(tmp_path, origin.url)
    held = start_hanging_check(db_url, config, origin)
    held.send_signal(signal.SIGKILL)
    assert held.wait(10) == -signal.SIGKILL
    origin.delay = 0
    # At once, not three minutes later: the holder is gone, so its lease is no one's.
    done = check(db_url, config)
    assert done.returncode == 0, done.stderr
    assert "skipped" not in done.stdout
    assert done.stdout.startswith("mi: snapshot") and "baseline stored" in done.stdout


def test_a_check_that_meets_a_live_holder_says_who_it_is(
    db_url: str, tmp_path: Path, origin: Origin
) -> None:
    config = write_config(tmp_path, origin.url)
    held = start_hanging_check(db_url, config, origin)
    try:
        skipped = check(db_url, config)
    finally:
        held.kill()
        held.wait(10)
    assert skipped.returncode == 0, skipped.stderr
    line = f"mi: skipped: pid {held.pid} on host {socket.gethostname()} is checking it now, since "
    assert skipped.stdout.startswith(line), skipped.stdout
    # Since when: the holder's start, to the second.
    assert skipped.stdout.count("\n") == 1 and skipped.stdout.rstrip().endswith("+00:00")
