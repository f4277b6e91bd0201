"""`watcher run` when the disk fills during a delivery: one line in its log, not the
scheduler's traceback, and the daemon keeps running; once there is room again the change
set is delivered with one duplicate at most — issue 16, item 2. SQLite on a tmpfs of the
test's own (root only); PostgreSQL's disk cannot be filled safely from a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from tests.cliutil import run
from tests.conftest import EN_CHAIN
from tests.delivery.servers import SlackServer
from tests.disk import fill, small_filesystem
from tests.origin import Origin, serve_origin
from watcher.storage.engine import make_engine, session_factory
from watcher.storage.models import Notification

CONFIG = """\
[[sources]]
name = "mi"
url = "{url}"
format = "markdown"
every = "1h"
attempts = 1

[[routes]]
name = "team"
channel = "slack"
webhook_url_env = "TEAM_SLACK_URL"
timeout = 5
"""


class Output:
    """A child's output, read line by line as it comes (the daemon does not exit on its own)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.05)
        return False

    def text(self) -> str:
        self._thread.join(10)
        return "".join(self.lines)


def test_a_full_disk_during_the_daemons_delivery_is_one_log_line(tmp_path: Path) -> None:
    slack = SlackServer().start()
    with (
        small_filesystem(tmp_path / "fs", "8m") as fs,
        serve_origin(Origin(body=EN_CHAIN[2].read_bytes())) as origin,
    ):
        db = f"sqlite:///{fs / 'w.db'}"
        config = tmp_path / "w.toml"
        config.write_text(CONFIG.format(url=origin.url + "/page.md"), encoding="utf-8")
        run("import", str(EN_CHAIN[1]), "--source", "mi", db=db, config=str(config))
        env = {**os.environ, "TEAM_SLACK_URL": slack.webhook("hold")}
        argv = [sys.executable, "-m", "watcher", "--config", str(config), "--db", db, "run"]
        proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        output = Output(proc)
        try:
            # The check queued the change set; Slack holds its post while the disk fills.
            assert slack.held.wait(30), "the daemon never posted"
            fill(fs / "filler", leave=0)
            slack.release()
            assert output.wait_for("delivery stopped", 30), output.lines
            assert proc.poll() is None  # the daemon goes on
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
        log = output.text()
        assert "Traceback" not in log, log
        assert (
            f"ERROR watcher.delivery.outbox: delivery stopped: database {db}: "
            "database or disk is full\n"
        ) in log
        assert len(slack.received()) == 1
        # Room again: once the lease is over, `watcher dispatch` sends it (the one duplicate).
        (fs / "filler").unlink()
        engine = make_engine(db)
        with session_factory(engine).begin() as session:
            n = session.get_one(Notification, 1)
            assert n.state == "sending" and n.next_attempt_at is not None
            n.next_attempt_at -= timedelta(hours=1)
        engine.dispose()
        done = subprocess.run(
            [sys.executable, "-m", "watcher", "--config", str(config), "--db", db, "dispatch"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert len(slack.received()) == 2
    slack.stop()
