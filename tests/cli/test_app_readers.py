"""Commands that only read answer while another process is writing: on SQLite their
transactions take no lock (WAL lets a reader read beside the one writer), so a busy writer
never makes a listing wait out the busy timeout and fail with "database is locked"."""

from __future__ import annotations

import time

from tests.cliutil import run, writer_holding_the_lock
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

# Far under the 30 s busy timeout a blocked reader would wait out before failing.
QUICK = 10.0


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
    # The writer's source "held" was rolled back, never seen (the column "held" is a header).
    assert not any(
        line.startswith("held ") for line in run("status", db=db_url).stdout.splitlines()
    )
