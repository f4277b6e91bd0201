"""One line on stderr for every mistake and every failure a command meets, never a traceback.

A command that cannot go on raises a ``WatcherError``: ``BadUsage`` (exit 2: bad usage or bad
config) or ``Failure`` (exit 1: a fetch, a delivery, a file or the database failed). The
``watcher`` group is a ``WatcherGroup``, and its ``invoke`` is the one place where errors
become exit codes: a ``WatcherError``, an error of a lower layer named in ``KNOWN_ERRORS`` (an
unknown source, a missing snapshot, a page that is not a page, ...), or a database error that
escapes a command (a read-only or full SQLite file, a server gone away) is printed as
``watcher: reason``; click's usage errors (a bad option value, an unknown command) as one line
instead of click's usage block; a database URL's password is masked by the one redactor
(watcher.storage.dialect). Only click, the standard library and that module (standard library
only itself) are imported here: ``watcher --help`` must stay quick.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from watcher.storage.dialect import redact, redact_url, sqlite_path, url_problem


class WatcherError(Exception):
    """A reason a command stops, told in one line on stderr; ``code`` is the exit status."""

    code = 1


class BadUsage(WatcherError):
    """The user asked for something that cannot be: a bad value, a missing thing, a bad
    config. Exit 2."""

    code = 2


class Failure(WatcherError):
    """Something the command needed failed: a fetch, a delivery, a file, the database. Exit 1."""

    code = 1


# Errors of the layers below, by module and class (looked up in sys.modules: an error can
# only come from a module that was imported, and importing them here would slow every
# command), with the exit status each means. A subclass comes before its base.
KNOWN_ERRORS: tuple[tuple[str, str, int], ...] = (
    ("watcher.config", "ConfigError", 2),
    ("watcher.audit.sources", "UnknownSource", 2),
    ("watcher.audit.sources", "UnknownCursor", 2),
    ("watcher.audit.compare", "NoSuchSnapshot", 2),
    ("watcher.ingest.reading", "NotAPage", 2),
    ("watcher.ingest.holds", "Refused", 2),
    ("watcher.ingest.backfill", "BadRepository", 2),
    ("watcher.ingest.backfill", "BackfillFailed", 1),
    ("watcher.ingest.pipeline", "OutOfOrder", 1),
    ("watcher.delivery.mend", "NotDead", 2),
)

_DRIVER_ERRORS = (
    ("sqlalchemy.exc", "SQLAlchemyError"),
    ("sqlite3", "Error"),
    ("psycopg", "Error"),
)


def _loaded_class(module: str, name: str) -> type | None:
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) else None


def _driver_error(exc: BaseException) -> bool:
    """True for errors of the database layers."""
    return any(
        isinstance(exc, cls)
        for module, name in _DRIVER_ERRORS
        if (cls := _loaded_class(module, name)) is not None
    )


def exit_code(exc: BaseException) -> int | None:
    """The exit status an error that stopped a command means, None for one that is a bug
    (left to raise, with its traceback)."""
    if isinstance(exc, WatcherError):
        return exc.code
    for module, name, code in KNOWN_ERRORS:
        cls = _loaded_class(module, name)
        if cls is not None and isinstance(exc, cls):
            return code
    return 1 if _driver_error(exc) else None


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


class WatcherGroup(click.Group):
    """The top-level group, where what stops a command becomes one line and an exit code."""

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
            code = exit_code(exc)
            if code is None:
                raise
            if _driver_error(exc):
                url = getattr(ctx.obj, "database_url", None)
                message = database_problem(exc, url or "")
            else:
                message = str(exc)
            click.echo(f"watcher: {message}", err=True)
            sys.exit(code)


def _usage(exc: click.UsageError) -> NoReturn:
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        raise exc  # `watcher` or `watcher db` alone: click shows the help, as it should
    where = exc.ctx.command_path if exc.ctx is not None else "watcher"
    click.echo(f"watcher: {exc.format_message()} (see '{where} --help')", err=True)
    sys.exit(exc.exit_code)
