"""The options and parameter types several commands share, each defined once.

``--source`` (a filter, or the name of a source a command may create), ``--since`` /
``--until`` / ``--at`` (ISO 8601 dates or datetimes, read by the ``When`` type), ``--format``
and ``--as`` (a page's format). Option values are checked here, when the command line is
read, so a command body starts from values it can use. Only click and the standard library
are imported at module level: ``watcher --help`` loads every command module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import click

from watcher.cli.errors import BadUsage

F = TypeVar("F", bound=Callable[..., Any])

PAGE_FORMAT = click.Choice(["markdown", "html", "auto"])


class Moment(NamedTuple):
    """A --since, --until or --at as given (for a title that echoes it) and as the moment it
    means, in UTC."""

    text: str
    utc: datetime


def utc(moment: Moment | None) -> datetime | None:
    return moment.utc if moment is not None else None


def span(since: Moment | None, until: Moment | None) -> tuple[datetime | None, datetime | None]:
    """``--since`` and ``--until`` in UTC, refused in one line when the span is empty (a
    swapped pair would answer "no changes", true of no history)."""
    if since is not None and until is not None and since.utc >= until.utc:
        raise BadUsage(f"--since {since.text} is not before --until {until.text}")
    return utc(since), utc(until)


if TYPE_CHECKING:
    _MomentType = click.ParamType[Moment, str | Moment]
else:  # click's ParamType is generic from 8.5 on; pyproject allows 8.1
    _MomentType = click.ParamType


class When(_MomentType):
    """An ISO 8601 date or datetime, UTC unless it carries an offset (read by
    watcher.domain.times.parse_when, as the web view reads it). A bare date is 00:00 UTC that
    day, or with ``end_of_day`` the start of the next, so ``--until 2021-06-01`` includes
    1 June. A value that is no date is a usage error in one line that names the option."""

    name = "date"

    def __init__(self, *, end_of_day: bool = False) -> None:
        self.end_of_day = end_of_day

    def convert(
        self, value: str | Moment, param: click.Parameter | None, ctx: click.Context | None
    ) -> Moment:
        if isinstance(value, Moment):
            return value
        # Imported when a date is given, not for `--help`.
        from watcher.domain.times import parse_when

        try:
            return Moment(value, parse_when(value, end_of_day=self.end_of_day))
        except ValueError as exc:
            option = param.opts[0] if param is not None and param.opts else "value"
            raise BadUsage(f"{option}: {exc}") from None


def known_value(what: str, values: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """An option callback refusing a value outside ``watcher.domain.known.<values>`` (a filter
    that would match nothing), naming the known ones. The list is looked up only when used."""

    def check(_ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        from watcher.domain import known

        found = getattr(known, values)
        allowed: tuple[str, ...] = found() if callable(found) else found
        if value is not None and value not in allowed:
            raise click.BadParameter(known.unknown_value(what, value, allowed))
        return value

    return check


def new_source_name(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """An option callback for the name of a source a command may create: a name the config
    could give it too, so that `--source ""` never becomes a source nobody can name again."""
    import re

    from watcher.domain.known import NAME_PATTERN

    if not value.strip():
        raise click.BadParameter("a source needs a name")
    if value != value.strip():
        raise click.BadParameter(f"{value!r} has spaces around it; did you mean {value.strip()!r}?")
    if not re.match(NAME_PATTERN, value):
        raise click.BadParameter(
            f"{value!r} is not a source name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return value


def format_option(
    *formats: str, default: str | None = "table", help: str | None = None
) -> Callable[[F], F]:
    """``--format`` among ``formats``; without a default it must be given."""
    if default is None:
        # No default at all, not a default of None: click would take that as given.
        return click.option("--format", "fmt", type=click.Choice(formats), required=True, help=help)
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(formats),
        default=default,
        show_default=True,
        help=help,
    )


LIST_FORMAT = format_option("table", "json", "csv", help="Output format.")

SOURCE = click.option("--source", help="Only this source.")
NEW_SOURCE = click.option(
    "--source", required=True, callback=new_source_name, help="Source name (created if missing)."
)
SINCE = click.option(
    "--since", type=When(), metavar="DATE", help="From this ISO date or datetime (UTC)."
)
UNTIL = click.option(
    "--until",
    type=When(end_of_day=True),
    metavar="DATE",
    help="Up to this date (a bare date includes the day).",
)
