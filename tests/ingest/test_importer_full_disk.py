"""`watcher import --notify` onto a disk that fills up part-way: one line saying where it
stopped and that the database is full (exit 1), every file stored before it whole with its
notification, nothing of the file it stopped at, and an import of the rest once there is
room again — issue 16, item 2. SQLite on a real full tmpfs (root only); a PostgreSQL
server's disk cannot be filled safely from a test."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN
from tests.disk import fill, small_filesystem

CONFIG = """\
[[sources]]
name = "mi"
url = "https://example.com/page.md"
format = "markdown"

[[routes]]
name = "team"
channel = "slack"
webhook_url_env = "TEAM_SLACK_URL"
"""
STOPPED = re.compile(
    r"^watcher: import stopped at (\S+): database sqlite:///\S+: database or disk is full;"
    r" (\d) of 2 files stored before it\n$"
)


# How much room is left: none for the first file's changes, or room for the first only
# (the sizes are this page history's; each left-over room gives one of the two cases).
@pytest.mark.parametrize("room_kib", [64, 320])
def test_an_import_onto_a_full_disk_stops_in_one_line_and_keeps_whole_files(
    tmp_path: Path, room_kib: int
) -> None:
    config = tmp_path / "w.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with small_filesystem(tmp_path / "fs", "4m") as fs:
        db = f"sqlite:///{fs / 'w.db'}"
        run("import", str(EN_CHAIN[0]), "--source", "mi", db=db, config=str(config))
        fill(fs / "filler", leave=room_kib * 1024)
        rest = [str(p) for p in EN_CHAIN[1:]]
        result = run(
            "import", *rest, "--source", "mi", "--notify", db=db, config=str(config), code=1
        )
        stopped = STOPPED.match(result.stderr)
        assert stopped is not None, result.stderr
        stored = int(stopped[2])
        assert stopped[1] == rest[stored]
        conn = sqlite3.connect(fs / "w.db")
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
        # Each file stored before it is there with its notification; the one it stopped at
        # left nothing.
        assert len(run_json("snapshots", db=db, config=str(config))) == 1 + stored
        assert len(run_json("notifications", db=db, config=str(config))) == stored
        (fs / "filler").unlink()
        run("import", *rest[stored:], "--source", "mi", "--notify", db=db, config=str(config))
        assert len(run_json("snapshots", db=db, config=str(config))) == 3
        assert len(run_json("notifications", db=db, config=str(config))) == 2
