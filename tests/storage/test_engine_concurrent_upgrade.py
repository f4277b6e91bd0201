"""Instances started at once on a fresh database (two replicas, a daemon and a cron run at
first start) all start: their schema upgrades run one after the other, each re-reading where
the database stands once it has its turn, so one migrates and the others find it done."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import POSTGRES_URL, reset_postgres
from watcher.storage.engine import current_revision, make_engine
from watcher.storage.migrations import SCHEMA_HEAD

INSTANCES = 4
ROUNDS = 2

# The real command line, its modules loaded before it waits for the word to go, so that the
# instances reach the database together rather than one import time apart.
INSTANCE = textwrap.dedent(
    """
    import sys
    import alembic.command, watcher.cli.admin, watcher.storage.engine  # noqa: F401
    import watcher.storage.migrations.runner  # noqa: F401
    from watcher.cli import main
    print("ready", flush=True)
    sys.stdin.readline()
    sys.argv = ["watcher", "--db", sys.argv[1], "db", "upgrade"]
    main()
    """
)


def start_together(url: str) -> list[tuple[int, str]]:
    """Exit status and output of each of INSTANCES `watcher db upgrade` let go at once."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", INSTANCE, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(INSTANCES)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
    return [(proc.wait(timeout=120), proc.communicate()[0].strip()) for proc in procs]


def at_head(url: str) -> bool:
    engine = make_engine(url)
    try:
        return current_revision(engine) == SCHEMA_HEAD
    finally:
        engine.dispose()


def assert_all_started(url: str) -> None:
    results = start_together(url)
    assert [code for code, _ in results] == [0] * INSTANCES, results
    said = sorted(out for _, out in results)
    assert said == [f"database at {SCHEMA_HEAD} (already up to date)"] * (INSTANCES - 1) + [
        f"database at {SCHEMA_HEAD} (migrated)"
    ], said
    assert at_head(url)


def test_instances_started_together_on_a_fresh_sqlite_file_all_start(tmp_path: Path) -> None:
    for n in range(ROUNDS):
        assert_all_started(f"sqlite:///{tmp_path / f'round{n}.db'}")


def test_instances_started_together_on_a_fresh_postgres_database_all_start() -> None:
    if not POSTGRES_URL:
        import pytest

        pytest.skip("WATCHER_TEST_POSTGRES_URL is not set")
    for _ in range(ROUNDS):
        reset_postgres(POSTGRES_URL)
        assert_all_started(POSTGRES_URL)
