"""The shared options: dates read once (the same one-line refusals on every command), and
--format among its choices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.cliutil import run
from watcher.cli.errors import BadUsage, WatcherGroup
from watcher.cli.params import Moment, When, format_option, utc


@pytest.mark.parametrize(
    ("text", "end_of_day", "moment"),
    [
        ("2021-06-01", False, datetime(2021, 6, 1, tzinfo=UTC)),
        ("2021-06-01", True, datetime(2021, 6, 2, tzinfo=UTC)),
        ("2021-06-01T10:30", True, datetime(2021, 6, 1, 10, 30, tzinfo=UTC)),
        ("2021-06-01T10:30Z", False, datetime(2021, 6, 1, 10, 30, tzinfo=UTC)),
        ("2021-06-01T10:30+02:00", False, datetime(2021, 6, 1, 8, 30, tzinfo=UTC)),
    ],
)
def test_a_date_is_read_as_a_moment_in_utc(text: str, end_of_day: bool, moment: datetime) -> None:
    read = When(end_of_day=end_of_day).convert(text, None, None)
    assert read == Moment(text, moment)
    assert utc(read) == moment and utc(None) is None


def test_a_value_that_is_no_date_is_a_usage_error_naming_its_option() -> None:
    since = click.Option(["--since"], type=When())
    at = click.Option(["--at"], type=When())
    with pytest.raises(BadUsage, match=r"^--since: 'June' is not an ISO 8601 date or datetime$"):
        When().convert("June", since, None)
    with pytest.raises(BadUsage, match=r"^--at: 'June' is not an ISO 8601 date or datetime$"):
        When().convert("June", at, None)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("changes", "--since", "June"), "watcher: --since: 'June' is not an ISO 8601 date"),
        (("export", "--format", "csv", "--until", "2021-13-01"), "watcher: --until: '2021-13-"),
        (("state", "--at", "yesterday"), "watcher: --at: 'yesterday' is not an ISO 8601 date"),
        # A swapped pair is an empty span, not "no changes".
        (
            ("changes", "--since", "2025-01-01", "--until", "2020-01-01"),
            "watcher: --since 2025-01-01 is not before --until 2020-01-01",
        ),
        (
            ("export", "--format", "json", "--since", "2021-06-02", "--until", "2021-06-01T00:00Z"),
            "watcher: --since 2021-06-02 is not before --until 2021-06-01T00:00Z",
        ),
    ],
)
def test_every_command_refuses_a_bad_date_in_one_line(
    args: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    result = run(*args, db=f"sqlite:///{tmp_path / 'w.db'}", code=2)
    assert result.stderr.startswith(said) and result.stderr.count("\n") == 1
    assert not (tmp_path / "w.db").exists()  # refused before the database was touched


def _formats() -> click.Group:
    @click.group(cls=WatcherGroup)
    def group() -> None:
        pass

    @group.command()
    @format_option("table", "json")
    def listing(fmt: str) -> None:
        click.echo(fmt)

    @group.command()
    @format_option("csv", "json", default=None)
    def export(fmt: str) -> None:
        click.echo(fmt)

    return group


def test_a_format_has_its_default_or_must_be_given() -> None:
    group = _formats()
    assert CliRunner().invoke(group, ["listing"]).stdout == "table\n"
    refused = CliRunner().invoke(group, ["export"])
    assert refused.exit_code == 2 and "Missing option '--format'" in refused.stderr
    assert CliRunner().invoke(group, ["export", "--format", "csv"]).stdout == "csv\n"
