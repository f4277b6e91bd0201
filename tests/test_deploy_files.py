"""The shipped systemd unit and crontab run watcher as promised."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

from tests.cliutil import run

CONFIG = Path(__file__).resolve().parents[1] / "config"


def test_systemd_unit_runs_the_daemon_as_a_non_root_user_and_restarts_on_failure() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(CONFIG / "watcher.service")
    service = unit["Service"]
    assert service["User"] not in ("", "root")
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM"
    argv = shlex.split(service["ExecStart"])
    assert argv[0].endswith("/watcher") and argv[1] == "run"
    run(*argv[1:], "--help")  # the options it passes exist
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_crontab_line_runs_check() -> None:
    lines = [
        line
        for line in (CONFIG / "watcher.cron").read_text().splitlines()
        if line and not line.startswith("#") and "=" not in line.split()[0]
    ]
    (line,) = lines
    fields = line.split(None, 6)
    assert len(fields) == 7 and fields[5] == "watcher"
    assert fields[6].split()[-1] == "check"
