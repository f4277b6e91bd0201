"""The ``watcher`` group: its global options, the ``App`` every command is handed, and the
table of commands.

The commands live in one module per family (checking, pages, history, snapshots, delivery,
admin, demo, serving); ``COMMANDS`` names the module of each, and a module is imported only
when one of its commands is asked for, so a cron ``watcher check`` loads the check and
nothing of the rest (``watcher --help`` loads them all, for their help lines). The heavy
modules a command needs are imported inside it, for the same reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import click

from watcher.cli.errors import BadUsage, Failure, WatcherGroup, database_problem, misplaced_sqlite

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from watcher.config import Settings
    from watcher.storage.connections import Database

# Rows a streamed listing reads per transaction: few enough to keep memory flat, enough that
# the cost of each page (a session, the cursor's seek) is small beside its rows'.
PAGE = 5000

F = TypeVar("F", bound=Callable[..., Any])
P = ParamSpec("P")
T = TypeVar("T")

# Each top-level command: the module of watcher.cli that holds it, and its name there.
COMMANDS: Mapping[str, str] = {
    "check": "checking:check",
    "run": "checking:run_daemon",
    "import": "pages:import_",
    "parse": "pages:parse",
    "backfill": "pages:backfill",
    "reparse": "pages:reparse",
    "changes": "history:changes",
    "history": "history:history",
    "state": "history:state",
    "export": "history:export",
    "snapshots": "snapshots:snapshots",
    "show": "snapshots:show",
    "diff": "snapshots:diff_snapshots",
    "accept": "snapshots:accept",
    "reject": "snapshots:reject",
    "notifications": "delivery:notifications",
    "dispatch": "delivery:dispatch_cmd",
    "notify": "delivery:notify",
    "status": "admin:status",
    "fetches": "admin:fetches",
    "db": "admin:db",
    "config": "admin:config_group",
    "demo": "demo:demo",
    "serve": "serving:serve",
}


class CommandTable(MutableMapping[str, click.Command]):
    """A group's commands by name, each imported from its module the first time it is looked
    up. The names are known without importing anything, so listing them (click sorts them
    for --help) and suggesting one for a typo cost nothing."""

    def __init__(self, where: Mapping[str, str]) -> None:
        self._where = dict(where)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, _, attr = self._where[name].partition(":")
            command = getattr(importlib.import_module(f"watcher.cli.{module}"), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"watcher.cli.{module}.{attr} is not a click command")
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._where.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._where[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


class App:
    """What every command needs, built on first use so --help touches nothing."""

    def __init__(self, config_path: str | None, db_url: str | None) -> None:
        self.config_path = config_path
        self.db_url = db_url
        self._sessions: sessionmaker[Session] | None = None
        self._schema_ready = False
        # False: the config is validated in full whatever the cache holds (config check).
        self.cached_config = True

    @cached_property
    def settings(self) -> Settings:
        # Imported here: `watcher --help` reads no config. An unchanged config comes from
        # the cache of its validated form (watcher.config.cache), without pydantic.
        from watcher import journal
        from watcher.config import resolve

        # A ConfigError is exit 2.
        settings = resolve(self.config_path, self.db_url, cached=self.cached_config)
        journal.hide_database_url(settings.database_url)
        return settings

    @property
    def database_url(self) -> str | None:
        """The database's URL once the settings are read, for error messages."""
        settings: Settings | None = self.__dict__.get("settings")
        return settings.database_url if settings is not None else None

    @cached_property
    def database(self) -> Database:
        from watcher.storage.connections import Database

        return Database(self.settings.database_url)

    @cached_property
    def engine(self) -> Engine:
        database = self.database  # outside the try: a bad config is told as itself
        try:
            return database.engine
        except Exception as exc:  # a bad URL is a usage error
            raise BadUsage(
                f"cannot use the {database_problem(exc, self.settings.database_url)}"
            ) from exc

    def close(self) -> None:
        """Close what the command opened: driver connections kept for reuse, the engine."""
        if "database" in self.__dict__:
            self.database.close()

    def sessions(self) -> sessionmaker[Session]:
        """Sessions on the database, its schema migrated to head first (once per command)."""
        if self._sessions is None:
            from watcher.storage.engine import session_factory

            self._sessions = session_factory(self._prepared())
        return self._sessions

    def _prepared(self) -> Engine:
        """The engine, its database migrated to head if it is behind (an up-to-date one is
        only read: one SELECT, no lock)."""
        if not self._schema_ready:
            from watcher.storage.engine import ensure_schema

            engine = self.engine  # outside the try: a bad URL is told as itself
            try:
                ensure_schema(engine)
            except Exception as exc:  # unreachable server, permissions, ...
                url = self.settings.database_url
                problem = f"cannot prepare the {database_problem(exc, url)}"
                raise (BadUsage if misplaced_sqlite(url) else Failure)(problem) from exc
            self._schema_ready = True
        return self.engine

    def read(
        self, query: Callable[Concatenate[Session, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``query(session, *args, **kwargs)`` in a read-only session of its own: what a
        listing command does with the database. It takes no write lock, so it answers while
        another process writes."""
        from watcher.storage.engine import read_session_factory

        with read_session_factory(self._prepared())() as session:
            return query(session, *args, **kwargs)

    def read_pages(
        self,
        query: Callable[..., list[T]],
        /,
        *args: Any,
        after: int | None,
        limit: int | None,
        cursor: Callable[[T], int],
        page_size: int | None = None,
        **kwargs: Any,
    ) -> Iterator[T]:
        """Every row ``query(session, *args, after=..., limit=..., **kwargs)`` pages through
        (up to ``limit``), PAGE rows at a time, each page read in a transaction of its own and
        the next one after the ``cursor`` of its last row. A listing streamed to a pipe that
        its reader leaves paused (``| less``) so holds no transaction open: none that would
        keep PostgreSQL from vacuuming, or a migration's lock from being granted (and every
        check queued behind it), or SQLite from checkpointing its log."""
        most = page_size or PAGE

        def read(after: int | None, left: int | None) -> tuple[list[T], int]:
            size = most if left is None else min(most, left)
            return self.read(query, *args, after=after, limit=size, **kwargs), size

        def rest(page: list[T], size: int, left: int | None) -> Iterator[T]:
            while True:
                yield from page
                left = None if left is None else left - len(page)
                if len(page) < size or left == 0:
                    return
                page, size = read(cursor(page[-1]), left)

        # The first page is read now: a bad cursor or source is told before anything is
        # written (a CSV header, a JSON bracket).
        return rest(*read(after, limit), limit)


def pass_app(f: F) -> F:
    return click.pass_obj(f)  # type: ignore[return-value]


@click.group(
    "watcher",
    cls=WatcherGroup,
    commands=CommandTable(COMMANDS),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--config",
    "config_path",
    envvar="WATCHER_CONFIG",
    metavar="PATH",
    help="Config file (env WATCHER_CONFIG; default config/watcher.toml if present).",
)
@click.option(
    "--db",
    "db_url",
    envvar="WATCHER_DATABASE_URL",
    metavar="URL",
    help="Database URL (env WATCHER_DATABASE_URL; default the config's, else sqlite:///watcher.db).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More log on stderr, one step per -v: the journal (which `run` writes anyway), "
    "watcher's detail, the libraries' own logs.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    envvar="WATCHER_LOG_FORMAT",
    help="Log lines as text, or one JSON object per line (env WATCHER_LOG_FORMAT).",
)
@click.version_option(package_name="azure-mi-watcher")
@click.pass_context
def cli(
    ctx: click.Context,
    config_path: str | None,
    db_url: str | None,
    verbose: int,
    log_format: str,
) -> None:
    """Watch Microsoft's page of Azure services that support managed identities."""
    from watcher import journal

    journal.configure(
        verbose,
        log_format,  # type: ignore[arg-type]
        daemon=ctx.invoked_subcommand == "run",
    )
    if ctx.get_parameter_source("db_url") is click.core.ParameterSource.ENVIRONMENT:
        db_url = None  # the environment's is read by resolve, which names it in an error
    ctx.obj = App(config_path, db_url)
    ctx.call_on_close(ctx.obj.close)
