"""Who holds a lease or a claim, judged on real processes: a killed one is gone, a live one
is alive, a pid now another process's is gone, one on another host cannot be judged; and a
check lease whose holder is gone is taken over at once on both databases."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT
from watcher.storage.connections import Database
from watcher.storage.engine import ensure_schema, make_engine
from watcher.storage.lease import Holder, claim_over, holder_of, lease, this_process


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait(10)


def test_a_live_process_is_alive_and_a_killed_one_is_gone(
    sleeper: subprocess.Popen[bytes],
) -> None:
    holder = Holder.of(sleeper.pid)
    assert Holder.parse(str(holder)) == holder
    assert holder.alive() is True
    assert this_process().alive() is True
    sleeper.send_signal(signal.SIGKILL)
    sleeper.wait(10)
    assert holder.alive() is False


def test_a_killed_holder_not_yet_reaped_is_gone(sleeper: subprocess.Popen[bytes]) -> None:
    # Killed, but its parent has not waited for it: a zombie keeps its pid and start time.
    holder = Holder.of(sleeper.pid)
    sleeper.send_signal(signal.SIGKILL)
    for _ in range(100):
        with open(f"/proc/{sleeper.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.05)
    assert holder.alive() is False


def test_the_same_host_name_on_another_machine_cannot_be_judged() -> None:
    # Two machines may share a name and a namespace number: the boot id tells them apart.
    here = this_process()
    boot, _, namespace = here.space.partition("-")
    assert boot and namespace
    other = Holder(here.host, here.pid, here.start, "0" * len(boot) + "-" + namespace)
    assert other.alive() is None


def test_a_reused_pid_is_not_mistaken_for_the_holder(sleeper: subprocess.Popen[bytes]) -> None:
    # The pid runs, but a process started at another time: not the one that claimed.
    here = Holder.of(sleeper.pid)
    earlier = Holder(here.host, here.pid, str(int(here.start) - 1), here.space)
    assert earlier.alive() is False
    assert Holder(here.host, os.getpid(), "1", here.space).alive() is False


def test_a_holder_on_another_host_or_pid_namespace_cannot_be_judged() -> None:
    here = this_process()
    assert Holder("elsewhere", here.pid, here.start, here.space).alive() is None
    assert Holder(here.host, here.pid, here.start, "4026531999").alive() is None
    lease_end = datetime.now(UTC) + timedelta(minutes=5)
    # Such a claim holds until its lease is over.
    assert not claim_over(str(Holder("elsewhere", 1)), lease_end, datetime.now(UTC))
    assert claim_over(str(Holder("elsewhere", 1)), lease_end, lease_end)
    assert Holder.parse("not a holder") is None


HOLD = """
import sys, time
from datetime import timedelta
from watcher.storage.connections import Database
from watcher.storage.lease import lease
with Database(sys.argv[1]).raw() as conn, lease(conn, "mi", timedelta(minutes=5)) as held:
    print("held" if held else "not held", flush=True)
    time.sleep(60)
"""


def hold(url: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD), url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_lease_is_refused_while_its_holder_lives_and_taken_over_once_it_is_killed(
    db_url: str, tmp_path: Path
) -> None:
    engine = make_engine(db_url)
    ensure_schema(engine)
    engine.dispose()
    database = Database(db_url)
    holder = hold(db_url)
    try:
        with database.raw() as conn, lease(conn, "mi", timedelta(minutes=5)) as held:
            assert not held
            skip = holder_of(conn, "mi")
        assert skip.holder == Holder.of(holder.pid)
        assert str(skip).startswith(
            f"pid {holder.pid} on host {socket.gethostname()} is checking it now, since "
        )
    finally:
        holder.kill()
        holder.wait(10)
    # Killed with its lease five minutes from its end: taken over at once all the same.
    with database.raw() as conn, lease(conn, "mi", timedelta(minutes=5)) as held:
        assert held
    database.close()
