"""Every command answers --help and is documented in the README (after sqlite-utils)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from tests.cliutil import run
from watcher.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found += _commands(command, path)
        else:
            found.append(path)
    return found


COMMANDS = _commands(cli)


def test_there_are_commands() -> None:
    assert ("check",) in COMMANDS and ("db", "upgrade") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_has_help(path: tuple[str, ...]) -> None:
    out = run(*path, "--help").stdout
    assert out.startswith("Usage: ")
    assert cli.get_command(click.Context(cli), path[0]) is not None
    command = cli
    for part in path:
        assert isinstance(command, click.Group)
        command = command.commands[part]  # type: ignore[assignment]
    assert command.help, f"watcher {' '.join(path)} has no help text"


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_in_readme(path: tuple[str, ...]) -> None:
    assert f"watcher {' '.join(path)}" in README, f"README does not show `watcher {' '.join(path)}`"
