"""Commands that only read answer while another process is writing: on SQLite their
transactions take no lock (WAL lets a reader read beside the one writer), so a busy writer
never makes a listing wait out the busy timeout and fail with "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.cliutil import run
from tests.conftest import STATUS_CHAIN

# Every command that only reads the database, with the arguments it needs.
READERS: tuple[tuple[str, ...], ...] = (
    ("changes",),
    ("status",),
    ("snapshots",),
    ("state",),
    ("history", "API Management"),
    ("fetches",),
    ("notifications",),
    ("export", "--format", "json"),
    ("show", "2"),
    ("diff", "1", "2"),
)

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

# Far under the 30 s busy timeout a blocked reader would wait out before failing.
QUICK = 10.0


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


def test_every_reader_answers_at_once_while_a_writer_holds_the_lock(db_url: str) -> None:
    run("import", "--source", "azure", *map(str, STATUS_CHAIN), db=db_url)
    unlocked = {args: run(*args, db=db_url).stdout for args in READERS}
    with writer_holding_the_lock(db_url):
        for args in READERS:
            start = time.monotonic()
            result = run(*args, db=db_url)
            took = time.monotonic() - start
            assert took < QUICK, f"watcher {' '.join(args)} took {took:.1f} s"
            # What the writer has not committed is not there: the same answer as before.
            assert result.stdout == unlocked[args], args
    assert "held" not in run("status", db=db_url).stdout  # rolled back, never seen
