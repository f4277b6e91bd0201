"""Errors become exit codes in one place, the group's invoke: a WatcherError with its own
code, an error of a lower layer by its class, a database error as exit 1, a bug raised."""

from __future__ import annotations

import importlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.cliutil import run
from watcher.cli.errors import KNOWN_ERRORS, BadUsage, Failure, WatcherError, WatcherGroup


@pytest.mark.parametrize(("module", "name", "code"), KNOWN_ERRORS)
def test_every_known_error_names_an_exception_class(module: str, name: str, code: int) -> None:
    found = getattr(importlib.import_module(module), name)
    assert isinstance(found, type) and issubclass(found, Exception)
    assert code in (1, 2)


def test_a_subclass_is_listed_before_its_base() -> None:
    classes = [getattr(importlib.import_module(m), n) for m, n, _ in KNOWN_ERRORS]
    for i, cls in enumerate(classes):
        assert not any(issubclass(cls, earlier) for earlier in classes[:i]), cls


def _raising(error: BaseException) -> click.Group:
    @click.group(cls=WatcherGroup)
    def group() -> None:
        pass

    @group.command()
    def go() -> None:
        raise error

    return group


@pytest.mark.parametrize(
    ("error", "code"),
    [(BadUsage("no such thing"), 2), (Failure("it broke"), 1), (WatcherError("stopped"), 1)],
)
def test_a_watcher_error_is_one_line_and_its_code(error: WatcherError, code: int) -> None:
    result = CliRunner().invoke(_raising(error), ["go"])
    assert result.exit_code == code
    assert result.stderr == f"watcher: {error}\n" and result.stdout == ""


def test_an_error_of_a_lower_layer_is_told_by_its_class() -> None:
    from watcher.ingest.backfill import BackfillFailed, BadRepository

    assert CliRunner().invoke(_raising(BadRepository("not a clone")), ["go"]).exit_code == 2
    result = CliRunner().invoke(_raising(BackfillFailed("git log failed")), ["go"])
    assert result.exit_code == 1 and result.stderr == "watcher: git log failed\n"


def test_a_bug_is_not_dressed_as_a_failure() -> None:
    result = CliRunner().invoke(_raising(KeyError("oops")), ["go"])
    assert isinstance(result.exception, KeyError)


def test_a_missing_snapshot_is_refused_by_accept_and_reject(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    assert run("accept", "7", db=db, code=2).stderr == "watcher: no snapshot 7\n"
    assert run("reject", "7", db=db, code=2).stderr == "watcher: no snapshot 7\n"
