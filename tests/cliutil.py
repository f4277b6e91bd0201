"""Run the real `watcher` command line in-process, the way a user would type it; and a
writer in another process, holding the database's write lock while the command runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from click.testing import CliRunner, Result

from watcher.cli import cli


def run(*args: str, db: str | None = None, config: str | None = None, code: int = 0) -> Result:
    argv: list[str] = []
    if config is not None:
        argv += ["--config", config]
    if db is not None:
        argv += ["--db", db]
    result = CliRunner().invoke(cli, [*argv, *args], catch_exceptions=False)
    assert result.exit_code == code, (
        f"exit {result.exit_code}, wanted {code}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def run_json(*args: str, db: str | None = None, config: str | None = None) -> list[dict[str, Any]]:
    rows = json.loads(run(*args, "--format", "json", db=db, config=config).stdout)
    assert isinstance(rows, list)
    return rows


# A writer in a process of its own: the write lock taken and a row inserted, not committed,
# until the test says so on stdin.
WRITER = textwrap.dedent(
    """
    import sys
    url = sys.argv[1]
    if url.startswith("sqlite"):
        import sqlite3
        conn = sqlite3.connect(url.partition(":///")[2], isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        mark = "?"
    else:
        import psycopg
        conn = psycopg.connect(url)  # its first statement begins the transaction
        mark = "%s"
    conn.execute(
        "INSERT INTO sources (name, url, format, created_at, state, failures_in_row) "
        f"VALUES ('held', 'https://example.org/held.md', 'markdown', {mark}, 'ok', 0)",
        ("2026-01-01 00:00:00",),
    )
    print("holding", flush=True)
    sys.stdin.readline()
    conn.rollback()
    """
)


@contextmanager
def writer_holding_the_lock(url: str) -> Iterator[None]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        yield
    finally:
        proc.communicate("\n", timeout=30)
    assert proc.returncode == 0
