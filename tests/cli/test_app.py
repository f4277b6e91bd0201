"""The group's table of commands: each command in the module the table names, imported only
when it is asked for, so a cron `watcher check` loads no other command module."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import click

from tests.cliutil import run
from watcher.cli import cli
from watcher.cli.app import COMMANDS


def test_every_command_of_the_table_is_there_under_its_own_name() -> None:
    for name in COMMANDS:
        command = cli.commands[name]
        assert isinstance(command, click.Command)
        assert command.name == name
    assert list(cli.list_commands(click.Context(cli))) == sorted(COMMANDS)


def test_a_typo_of_a_command_is_answered_with_the_nearest_name() -> None:
    assert "Did you mean 'check'?" in run("chek", code=2).stderr


PROBE = textwrap.dedent(
    """
    import json, sys
    from watcher.cli import main
    sys.argv = ["watcher", *sys.argv[1:]]
    try:
        main()
    except SystemExit:
        pass
    print(json.dumps(sorted(m for m in sys.modules if m.startswith("watcher.cli."))))
    """
)


def _cli_modules(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(loaded, list)
    return loaded


def test_a_command_loads_its_own_module_only() -> None:
    assert _cli_modules("check", "--help") == [
        "watcher.cli.app",
        "watcher.cli.checking",
        "watcher.cli.errors",
        "watcher.cli.outcomes",
        "watcher.cli.params",
    ]
    assert "watcher.cli.pages" not in _cli_modules("state", "--help")


def test_the_help_listing_loads_every_command_module() -> None:
    modules = {f"watcher.cli.{where.partition(':')[0]}" for where in COMMANDS.values()}
    assert modules <= set(_cli_modules("--help"))
