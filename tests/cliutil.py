"""Run the real `watcher` command line in-process, the way a user would type it."""

from __future__ import annotations

import json
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
