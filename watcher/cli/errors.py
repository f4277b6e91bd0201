"""One line on stderr for every mistake and every failure a command meets, never a traceback.

The ``watcher`` group is a ``WatcherGroup``: click's usage errors (a bad option value, an
unknown command) are printed as one line instead of click's usage block, and a database
error that escapes a command (a read-only or full SQLite file, a server gone away) is
reported as ``watcher: database ...: reason`` with exit 1, its password masked by the one
redactor (watcher.storage.dialect). ``known_value`` refuses an option value that names no
known kind, key or severity. Only click, the standard library and that module (standard
library only itself) are imported here: ``watcher --help`` must stay quick.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from watcher.storage.dialect import redact, redact_url, sqlite_path, url_problem


def _driver_error(exc: BaseException) -> bool:
    """True for errors of the database layers; looked up in sys.modules, since an error
    can only come from a module that was imported."""
    bases = [
        getattr(sys.modules.get(name), attr, None)
        for name, attr in (
            ("sqlalchemy.exc", "SQLAlchemyError"),
            ("sqlite3", "Error"),
            ("psycopg", "Error"),
        )
    ]
    return any(isinstance(exc, b) for b in bases if isinstance(b, type))


def _sqlite_hint(url: str) -> str | None:
    """What is wrong with a SQLite file's place, when something plainly is."""
    path = sqlite_path(url)
    if path is None:
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return f"{path} is a folder, not a database file"
    if not os.path.isdir(folder):
        return f"the folder {folder} does not exist"
    # access() says EROFS for a read-only filesystem even to root.
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"{path} is read-only"
    if not os.access(folder, os.W_OK):
        return f"the folder {folder} is read-only (SQLite writes its journal beside the file)"
    if os.statvfs(folder).f_bavail == 0:
        return f"no space is left in {folder}"
    return None


def misplaced_sqlite(url: str) -> bool:
    """True when a SQLite URL names a folder, or a file in a folder that does not exist:
    a usage mistake rather than a failure."""
    path = sqlite_path(url)
    return path is not None and (
        os.path.isdir(path) or not os.path.isdir(os.path.dirname(os.path.abspath(path)))
    )


def database_problem(exc: BaseException, url: str) -> str:
    """One line saying why the database at ``url`` failed, its password masked."""
    problem = url_problem(url)
    if problem is not None:
        return f"database {redact_url(url)}: {problem}"
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    reason = lines[0] if lines else type(orig).__name__
    hint = _sqlite_hint(url)
    if hint is not None and "full" not in reason:
        reason = f"{reason} ({hint})"
    return redact(f"database {redact_url(url)}: {reason}", url=url)


def known_value(what: str, values: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """An option callback refusing a value outside ``watcher.domain.known.<values>`` (a filter that
    would match nothing), naming the known ones. The list is looked up only when used."""

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


class WatcherGroup(click.Group):
    """The top-level group: one-line usage errors and database errors."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            _usage(exc)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _usage(exc)
        except Exception as exc:
            if not _driver_error(exc):
                raise
            url = getattr(ctx.obj, "database_url", None)
            click.echo(f"watcher: {database_problem(exc, url or '')}", err=True)
            sys.exit(1)


def _usage(exc: click.UsageError) -> NoReturn:
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        raise exc  # `watcher` or `watcher db` alone: click shows the help, as it should
    where = exc.ctx.command_path if exc.ctx is not None else "watcher"
    click.echo(f"watcher: {exc.format_message()} (see '{where} --help')", err=True)
    sys.exit(exc.exit_code)
