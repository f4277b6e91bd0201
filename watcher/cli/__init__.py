"""The ``watcher`` command line: parse arguments, call one function, print.

Exit status: 0 success (changes or not), 1 an operational failure, 2 bad usage or config.
Heavy modules are imported inside the commands that need them so ``watcher --help`` and a
cron ``watcher check`` stay quick.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click

from watcher.cli.errors import (
    WatcherGroup,
    database_problem,
    known_value,
    misplaced_sqlite,
    new_source_name,
    redact_url,
)
from watcher.delivery.states import STATES as NOTIFICATION_STATES

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from watcher.config import Settings, SourceConfig
    from watcher.domain.outcome import Outcome
    from watcher.storage.connections import Database

F = TypeVar("F", bound=Callable[..., Any])

LIST_FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
PAGE_FORMAT = click.Choice(["markdown", "html", "auto"])


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"watcher: {message}", err=True)
    sys.exit(code)


class App:
    """What every command needs, built on first use so --help touches nothing."""

    def __init__(self, config_path: str | None, db_url: str | None) -> None:
        self.config_path = config_path
        self.db_url = db_url

    @cached_property
    def settings(self) -> Settings:
        # Imported here: pydantic alone costs more than `watcher --help` may take.
        from watcher import journal
        from watcher.config import ConfigError, resolve

        try:
            settings = resolve(self.config_path, self.db_url)
        except ConfigError as exc:
            fail(str(exc), 2)
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
        try:
            return self.database.engine
        except Exception as exc:  # noqa: BLE001 - a bad URL is a usage error
            fail(f"cannot use the {database_problem(exc, self.settings.database_url)}", 2)

    def close(self) -> None:
        """Close what the command opened: driver connections kept for reuse, the engine."""
        if "database" in self.__dict__:
            self.database.close()

    def sessions(self, *, migrate: bool = True) -> sessionmaker[Session]:
        from watcher.storage.engine import ensure_schema, session_factory

        if migrate:
            try:
                ensure_schema(self.engine)
            except Exception as exc:  # noqa: BLE001 - unreachable server, permissions, ...
                url = self.settings.database_url
                fail(
                    f"cannot prepare the {database_problem(exc, url)}",
                    2 if misplaced_sqlite(url) else 1,
                )
        return session_factory(self.engine)


def pass_app(f: F) -> F:
    return click.pass_obj(f)  # type: ignore[return-value]


@click.group("watcher", cls=WatcherGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    ctx.obj = App(config_path, db_url)
    ctx.call_on_close(ctx.obj.close)


# --- checking ---------------------------------------------------------------------------


def _outcome_line(o: Outcome) -> str:
    snap = f" snapshot {o.snapshot_id}" if o.snapshot_id is not None else ""
    if o.result == "failed":
        return f"{o.source}: FAILED: {o.error}"
    parts = {
        "baseline": f"baseline stored ({o.detail})",
        "changed": f"{o.changes} change(s), {o.notifications} notification(s) queued",
        "unchanged": f"no change{' (' + o.detail + ')' if o.detail else ''}",
        "not_modified": "not modified (304)",
        "quarantined": f"QUARANTINED: {o.detail}",
        "accepted": f"format change accepted ({o.detail})"
        if any(c.kind == "format_changed" for c in o.change_list)
        else f"accepted ({o.detail}): {o.changes} change(s), {o.notifications} notification(s)"
        " queued",
        "skipped": f"skipped: {o.detail}",
    }
    line = f"{o.source}:{snap} {parts[o.result]}"
    # A held snapshot this one confirmed was accepted first: said on the same line.
    for held in o.settled:
        line += f" (first {_outcome_line(held).removeprefix(f'{held.source}: ')})"
    return line


def _outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "source": o.source,
        "result": o.result,
        "snapshot": o.snapshot_id,
        "changes": o.changes,
        "notifications": o.notifications,
        "error": o.error,
        "detail": o.detail,
        # Held snapshots this check accepted first (a later version confirmed them).
        "settled": [_outcome_json(held) for held in o.settled],
    }


@cli.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--dry-run", is_flag=True, help="Fetch, parse and diff, but store nothing.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="Sources checked at once (each source is still checked by one process at a time).",
)
@pass_app
def check(app: App, sources: tuple[str, ...], dry_run: bool, fmt: str, jobs: int) -> None:
    """Check each configured source once now (for cron), then send what is pending.

    Exit 1 if a check failed or a delivery failed."""
    import json

    from watcher.ingest.check import check_source
    from watcher.ingest.fetch import make_client

    config = app.settings.config
    chosen = [s for s in config.sources if not sources or s.name in sources]
    unknown = set(sources) - {s.name for s in config.sources}
    if unknown:
        names = ", ".join(s.name for s in config.sources) or "none"
        fail(f"no source named {', '.join(sorted(unknown))} in the config (known: {names})", 2)
    if not chosen:
        fail("the config has no sources to check", 2)
    if not app.database.direct:
        # Each check then holds a connection of the engine's pool (5 + 10 overflow) and may
        # need a second for the pipeline: more threads than that could wait on each other.
        jobs = min(jobs, 10)
    if not _schema_current(app):
        app.sessions()  # migrates
    with make_client() as client:

        def one(cfg: SourceConfig) -> Outcome:
            return check_source(app.database, client, cfg, config.routes, dry_run=dry_run)

        if jobs == 1 or len(chosen) == 1:
            outcomes = [one(s) for s in chosen]
        else:
            # Threads: a check mostly waits on the network or the database; output keeps
            # the config's order whatever order the checks finish in.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="check") as pool:
                outcomes = list(pool.map(one, chosen))
    if fmt == "json":
        click.echo(json.dumps([_outcome_json(o) for o in outcomes], indent=2))
    else:
        for o in outcomes:
            # A failure is an error: stderr, where cron mails it and a pipe does not eat it.
            click.echo(("(dry run) " if dry_run else "") + _outcome_line(o), err=o.failed)
    delivery_failed = False
    if not dry_run and not _outbox_idle(app):
        # JSON on stdout stays parseable: the delivery report (and stdout routes) go to stderr.
        delivery_failed = _dispatch(
            app, out=sys.stderr if fmt == "json" else sys.stdout, quiet_if_idle=True
        )
    if any(o.failed for o in outcomes) or delivery_failed:
        sys.exit(1)


def _schema_current(app: App) -> bool:
    """The cheap look at the schema version, on the driver; False sends us the slow way."""
    from watcher.storage.connections import schema_current

    try:
        with app.database.raw() as conn:
            return schema_current(conn)
    except Exception:  # noqa: BLE001 - app.sessions() reports it properly
        return False


def _outbox_idle(app: App) -> bool:
    """Nothing to send: dispatching (and importing what it needs) can be skipped."""
    from watcher.storage.connections import outbox_idle

    try:
        with app.database.raw() as conn:
            return outbox_idle(conn)
    except Exception:  # noqa: BLE001 - dispatch finds and reports the trouble
        return False


IMPORT_BAR_FROM = 5  # files: fewer go by too fast for a progress bar to help


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--source",
    "source",
    required=True,
    callback=new_source_name,
    help="Source name (created if missing).",
)
@click.option("--at", "at", metavar="ISO8601", help="Time of the (first) version; default ms.date.")
@click.option("--as", "page_format", type=PAGE_FORMAT, help="Page format; default by extension.")
@click.option("--notify", is_flag=True, help="Queue notifications for the changes found.")
@pass_app
def import_(
    app: App,
    files: tuple[str, ...],
    source: str,
    at: str | None,
    page_format: str | None,
    notify: bool,
) -> None:
    """Store FILES as successive snapshots of SOURCE, diffing each against the previous.

    One line per file as it is stored (with a progress bar on a terminal for many files);
    at a file that cannot be stored, says how many were stored before it and exits 1."""
    import contextlib
    from pathlib import Path

    from watcher.audit.queries import parse_when
    from watcher.config import DEFAULT_MAX_BYTES, GuardConfig
    from watcher.ingest.importer import ImportItem, ImportStopped, import_files
    from watcher.ingest.reading import NotAPage, read_page_file

    try:
        when = parse_when(at) if at else None
    except ValueError as exc:
        fail(f"--at: {exc}", 2)

    configured = app.settings.config.source(source)
    cap = configured.max_bytes if configured is not None else DEFAULT_MAX_BYTES
    # Every file is read and checked before any is stored: a typo'd, empty or binary file
    # among them costs nothing.
    try:
        items = [ImportItem(Path(f), read_page_file(Path(f), cap), at=when) for f in files]
    except NotAPage as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"cannot read {exc.filename}: {exc.strerror}", 1)
    sessions = app.sessions()
    with contextlib.ExitStack() as stack:
        bar = None
        if sys.stdout.isatty() and len(files) >= IMPORT_BAR_FROM:
            from rich.console import Console
            from rich.progress import Progress

            bar = stack.enter_context(Progress(console=Console(), transient=True))
            task = bar.add_task("importing", total=len(files))

        def stored(path: Path, o: Outcome) -> None:
            line = f"{path}: {_outcome_line(o)}"
            if bar is None:
                click.echo(line)
            else:
                # Printed above the bar as it is: no markup, no wrapping of a long path.
                bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
                bar.advance(task)

        try:
            import_files(
                sessions,
                source,
                items,
                fmt=page_format,  # type: ignore[arg-type]
                routes=app.settings.config.routes,
                notify=notify,
                guard=(configured.guard if configured is not None else GuardConfig()).policy(),
                on_stored=stored,
            )
        except ImportStopped as exc:
            from sqlalchemy.exc import DBAPIError

            if isinstance(exc.__cause__, DBAPIError):
                # The database's trouble worded as for every other command, with its hint.
                url = app.settings.database_url
                fail(exc.retold(database_problem(exc.__cause__, url)), 1)
            fail(str(exc), 1)


@cli.group()
def backfill() -> None:
    """Import a page's past versions from where its history is kept."""


@backfill.command("git")
@click.argument("repo_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("path")
@click.option(
    "--source", required=True, callback=new_source_name, help="Source name (created if missing)."
)
@click.option("--follow", is_flag=True, help="Follow PATH back across renames (git log --follow).")
@click.option("--as", "page_format", type=PAGE_FORMAT, help="Page format; default by extension.")
@click.option("--notify", is_flag=True, help="Queue notifications for the changes found.")
@pass_app
def backfill_git(
    app: App,
    repo_dir: str,
    path: str,
    source: str,
    follow: bool,
    page_format: str | None,
    notify: bool,
) -> None:
    """Store every commit that changed PATH in the git clone REPO_DIR, oldest first, each at
    its commit time with the commit id as provenance. Running it again adds nothing."""
    import contextlib
    from pathlib import Path

    from watcher.ingest.backfill import BackfillFailed, BadRepository, Commit
    from watcher.ingest.backfill import backfill_git as run_backfill
    from watcher.ingest.pipeline import OutOfOrder

    configured = next((s for s in app.settings.config.sources if s.name == source), None)
    sessions = app.sessions()
    with contextlib.ExitStack() as stack:
        report = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            bar = stack.enter_context(Progress(console=Console(stderr=True), transient=True))
            task = bar.add_task("git history", total=None)

            def report(done: int, total: int, commit: Commit) -> None:
                label = f"{commit.sha[:12]} {commit.at:%Y-%m-%d}"
                bar.update(task, completed=done, total=total, description=label)

        try:
            steps = run_backfill(
                sessions,
                source,
                Path(repo_dir),
                path,
                follow=follow,
                fmt=page_format,  # type: ignore[arg-type]
                url=configured.url if configured is not None else None,
                routes=app.settings.config.routes,
                notify=notify,
                progress=report,
            )
        except BadRepository as exc:
            fail(str(exc), 2)
        except (BackfillFailed, OutOfOrder) as exc:
            fail(str(exc), 1)
    for step in steps:
        c = step.commit
        moved = "" if c.at == c.committed_at else " (placed after the commit before it)"
        what = _outcome_line(step.outcome) if step.outcome else f"{source}: already stored"
        click.echo(f"{c.sha[:12]} {c.at:%Y-%m-%dT%H:%M:%SZ}{moved} {c.path}: {what}")
    stored = sum(1 for s in steps if s.outcome is not None and s.outcome.result != "unchanged")
    click.echo(f"{len(steps)} commit(s): {stored} new snapshot(s)")


# --- reading pages ----------------------------------------------------------------------


@cli.command()
@click.argument("target", metavar="FILE|URL")
@click.option("--as", "page_format", type=PAGE_FORMAT, default="auto", show_default=True)
@LIST_FORMAT
@click.option("--diagnostics", is_flag=True, help="Counts per status, unknown values, warnings.")
@pass_app
def parse(app: App, target: str, page_format: str, fmt: str, diagnostics: bool) -> None:
    """Print the records of one page (a file or a URL)."""
    from watcher.cli.output import emit
    from watcher.ingest.reading import diagnostics_rows, read_target, record_rows
    from watcher.parse import parse as parse_page

    try:
        body, content_type = read_target(target)
    except OSError as exc:
        fail(f"cannot read {target}: {exc}")
    doc = parse_page(body, page_format, content_type)  # type: ignore[arg-type]
    if diagnostics:
        rows = diagnostics_rows(doc)
        emit(rows, ("kind", "value", "count"), fmt, title=f"{target}: diagnostics")
        return
    emit(
        record_rows(doc),
        ("section", "entity", "row", "column", "raw", "status"),
        fmt,
        title=doc.title,
    )


# --- history ----------------------------------------------------------------------------


@cli.command()
@click.option("--source", help="Only this source.")
@click.option("--since", metavar="DATE", help="From this ISO date or datetime (UTC).")
@click.option("--until", metavar="DATE", help="Up to this date (a bare date includes the day).")
@click.option("--entity", metavar="GLOB", help="Entity name glob, case-insensitive.")
@click.option(
    "--column",
    metavar="KEY",
    callback=known_value("column key", "columns"),
    help="Column key: global, usgov, germany, china, ... (a wrong one lists them all).",
)
@click.option(
    "--kind",
    callback=known_value("change kind", "KINDS"),
    help="Change kind, e.g. status_changed (README lists them).",
)
@click.option(
    "--severity",
    callback=known_value("severity", "SEVERITIES"),
    help="Minimum severity: info, notice or warning.",
)
@LIST_FORMAT
@pass_app
def changes(
    app: App,
    source: str | None,
    since: str | None,
    until: str | None,
    entity: str | None,
    column: str | None,
    kind: str | None,
    severity: str | None,
    fmt: str,
) -> None:
    """The change log."""
    from watcher.audit.queries import (
        CHANGE_FIELDS,
        ChangeFilter,
        UnknownSource,
        change_rows,
        parse_when,
    )
    from watcher.cli.output import emit, print_change_log

    try:
        f = ChangeFilter(
            source=source,
            since=parse_when(since) if since else None,
            until=parse_when(until, end_of_day=True) if until else None,
            entity=entity,
            column=column,
            kind=kind,
            severity=severity,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    with app.sessions()() as session:
        try:
            rows = change_rows(session, f)
        except UnknownSource as exc:
            fail(str(exc), 2)
        if fmt == "table":
            from watcher.delivery.outbox import section_summaries

            # A section added or removed is summarized, its entities listed.
            summaries = section_summaries(session, rows)
    if fmt == "table":
        print_change_log(rows, summaries=summaries)
    else:
        emit(rows, CHANGE_FIELDS, fmt)


@cli.command()
@click.option("--source", help="Only this source.")
@LIST_FORMAT
@pass_app
def snapshots(app: App, source: str | None, fmt: str) -> None:
    """Stored snapshots: accepted, quarantined (held by the guard) or rejected."""
    from watcher.audit.queries import SNAPSHOT_FIELDS, UnknownSource, snapshot_rows
    from watcher.cli.output import emit

    with app.sessions()() as session:
        try:
            rows = snapshot_rows(session, source)
        except UnknownSource as exc:
            fail(str(exc), 2)
    table = ("id", "source", "fetched_at", "state", "origin", "doc_date", "records", "reason")
    emit(rows, SNAPSHOT_FIELDS, fmt, table_fields=table)


@cli.command()
@click.argument("snapshot_id", type=int)
@pass_app
def show(app: App, snapshot_id: int) -> None:
    """Print a stored page byte for byte as it was fetched (its sha256 is the snapshot's)."""
    from watcher.audit.queries import snapshot_body

    with app.sessions()() as session:
        body = snapshot_body(session, snapshot_id)
    if body is None:
        fail(f"no snapshot {snapshot_id}", 2)
    # Bytes: click writes them to the binary stream as they are, with no newline added.
    click.echo(body, nl=False)


@cli.command()
@click.option("--source", help="Only this source.")
@click.option(
    "--at",
    metavar="DATE",
    help="ISO 8601 date or datetime, UTC unless an offset is given; a bare date is "
    "00:00 UTC that day. Default: now.",
)
@click.option("--entity", metavar="NAME|GLOB", help="Only this entity (any spelling, or a glob).")
@LIST_FORMAT
@pass_app
def state(app: App, source: str | None, at: str | None, entity: str | None, fmt: str) -> None:
    """The whole table as it stood at a moment: the latest accepted snapshot taken at or
    before it, each cell with `since`, when it took its current value."""
    from watcher.audit.queries import STATE_FIELDS, UnknownSource, parse_when, state_rows
    from watcher.cli.output import emit

    try:
        when = parse_when(at) if at else None
    except ValueError as exc:
        fail(f"--at: {exc}", 2)
    with app.sessions()() as session:
        try:
            rows = state_rows(session, source, when, entity)
        except UnknownSource as exc:
            fail(str(exc), 2)
    if not rows:
        click.echo(f"watcher: no accepted snapshot at or before {at or 'now'}", err=True)
    table = ("entity", "row", "column", "status", "raw", "since", "snapshot")
    emit(rows, STATE_FIELDS, fmt, table_fields=table, title=f"as of {at or 'now'}")


@cli.command()
@click.argument("entity")
@click.option("--source", help="Only this source.")
@click.option("--row", metavar="KEY", help="Only this row: system_assigned, user_assigned, ...")
@click.option("--column", metavar="KEY", help="Only this column: global, usgov, china, ...")
@LIST_FORMAT
@pass_app
def history(
    app: App, entity: str, source: str | None, row: str | None, column: str | None, fmt: str
) -> None:
    """The timeline of every cell of ENTITY: each value with since and until, the snapshot
    that introduced it and the change that recorded it (none for the baseline).

    ENTITY is a name in any spelling ("azure functions") or a glob ('Azure Kubernetes*').
    """
    from watcher.audit.queries import HISTORY_FIELDS, UnknownSource, history_rows
    from watcher.cli.output import emit

    with app.sessions()() as session:
        try:
            rows = history_rows(session, entity, source=source, row=row, column=column)
            every = rows or history_rows(session, entity, source=source)
        except UnknownSource as exc:
            fail(str(exc), 2)
    if not rows and every:
        # The entity has a history: the row or column filter names nothing of it.
        wanted = " with ".join(
            f"{what} {value!r}" for what, value in (("row", row), ("column", column)) if value
        )
        rows_of = ", ".join(sorted({r["row"] for r in every if r["row"]})) or "none"
        columns_of = ", ".join(sorted({r["column"] for r in every if r["column"]})) or "none"
        fail(f"{entity!r} has no {wanted} (its rows: {rows_of}; its columns: {columns_of})", 2)
    if not rows:
        click.echo(f"watcher: no history for {entity!r}", err=True)
    table = ("entity", "row", "column", "status", "raw", "since", "until", "snapshot", "change")
    emit(rows, HISTORY_FIELDS, fmt, table_fields=table, title=entity)


@cli.command()
@click.option("--source", help="Only this source.")
@click.option("--since", metavar="DATE", help="From this ISO date or datetime (UTC).")
@click.option("--until", metavar="DATE", help="Up to this date (a bare date includes the day).")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), required=True)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
@pass_app
def export(
    app: App,
    source: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """The change log with its provenance, for auditors: each change with the sha256, time,
    origin and URL or commit id of the snapshots it lies between."""
    from watcher.audit.queries import (
        EXPORT_FIELDS,
        ChangeFilter,
        UnknownSource,
        export_rows,
        parse_when,
        write_exact_csv,
    )
    from watcher.cli.output import emit

    try:
        f = ChangeFilter(
            source=source,
            since=parse_when(since) if since else None,
            until=parse_when(until, end_of_day=True) if until else None,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    from pathlib import Path

    if output and not Path(output).absolute().parent.is_dir():
        fail(f"--output {output}: the folder {Path(output).absolute().parent} does not exist", 2)
    with app.sessions()() as session:
        try:
            rows = export_rows(session, f)
        except UnknownSource as exc:
            fail(str(exc), 2)
    try:
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        fail(f"--output {output}: cannot write it: {exc.strerror}")
    try:
        if fmt == "csv":
            write_exact_csv(rows, EXPORT_FIELDS, out)
        else:
            emit(rows, EXPORT_FIELDS, "json", out=out)
    finally:
        if output:
            out.close()
    if output:
        click.echo(f"{len(rows)} change(s) written to {output}", err=True)


@cli.command()
@click.option("--source", help="Only this source.")
@click.option("--dry-run", is_flag=True, help="Report what would change; store nothing.")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_app
def reparse(app: App, source: str | None, dry_run: bool, fmt: str) -> None:
    """Re-read stored pages with the current parser; say which stored changes that alters."""
    import dataclasses
    import json

    from watcher.audit.queries import UnknownSource, require_source
    from watcher.ingest.reparse import reparse as reparse_all

    sessions = app.sessions()
    with sessions() as session:
        try:
            require_source(session, source)
        except UnknownSource as exc:
            fail(str(exc), 2)
        session.begin()
        report = reparse_all(session, source, routes=app.settings.config.routes, dry_run=dry_run)
        if dry_run:
            session.rollback()
        else:
            session.commit()
    if fmt == "json":
        click.echo(json.dumps(dataclasses.asdict(report), indent=2, ensure_ascii=False))
        return
    verb = "would change" if dry_run else "changed"
    click.echo(f"{report.snapshots} snapshot(s) re-read; records {verb} in {report.reparsed}")
    for p in report.pairs:
        click.echo(
            f"{p.source} snapshot {p.from_snapshot} → {p.to_snapshot}: "
            f"{p.before} stored change(s), {p.after} now"
            + (f"; {p.repointed} waiting notification(s) carry them now" if p.repointed else "")
            + (
                f"; {p.withdrawn} waiting notification(s) withdrawn, their route wants none"
                if p.withdrawn
                else ""
            )
        )
        for line in p.gone:
            click.echo(f"  - {line}")
        for line in p.new:
            click.echo(f"  + {line}")
    if not report.pairs:
        click.echo("no stored change is altered")


@cli.command("diff")
@click.argument("old_id", type=int)
@click.argument("new_id", type=int)
@LIST_FORMAT
@pass_app
def diff_snapshots(app: App, old_id: int, new_id: int, fmt: str) -> None:
    """Diff any two stored snapshots (accepted or quarantined), oldest first."""
    from watcher.audit.compare import NoSuchSnapshot, diff_rows
    from watcher.audit.queries import CHANGE_FIELDS
    from watcher.cli.output import emit, print_change_log

    with app.sessions()() as session:
        try:
            rows = diff_rows(session, old_id, new_id)
        except NoSuchSnapshot as exc:
            fail(str(exc), 2)
    if fmt == "table":
        print_change_log(rows)
    else:
        emit(rows, CHANGE_FIELDS, fmt)


# --- daemon and status ------------------------------------------------------------------


@cli.command("run")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Serve Prometheus /metrics and /healthz here.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@pass_app
def run_daemon(app: App, metrics_port: int | None, metrics_host: str) -> None:
    """The daemon: schedules checks and delivery; stops cleanly on SIGTERM/SIGINT, reloads
    the config on SIGHUP."""
    from watcher.cli.daemon import Daemon
    from watcher.cli.metrics import Metrics, serve

    sessions = app.sessions()  # migrate before the first tick
    if not app.settings.config.sources:
        fail("the config has no sources to watch", 2)
    metrics = Metrics() if metrics_port is not None else None

    def load() -> Settings:
        from watcher.config import resolve

        return resolve(app.config_path, app.db_url)

    def deliver() -> None:
        from watcher.delivery.outbox import DispatchPolicy, dispatch

        # No lingering: the daemon comes back on its own schedule for the retries.
        dispatch(sessions, daemon.settings.config, policy=DispatchPolicy(linger=0))

    daemon = Daemon(app.engine, load, metrics=metrics, dispatch=deliver)
    if metrics is not None and metrics_port is not None:
        try:
            serve(metrics, metrics_port, lambda: daemon.alive, host=metrics_host)
        except OSError as exc:
            fail(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc}", 2)
    daemon.start()


@cli.command()
@LIST_FORMAT
@pass_app
def status(app: App, fmt: str) -> None:
    """Per source: last check, last success, last change, failures in a row, state, and the
    pending and dead notifications."""
    from watcher.cli.output import emit
    from watcher.ingest.health import STATUS_FIELDS, status_rows

    with app.sessions()() as session:
        rows = status_rows(session, app.settings.config)
    emit(rows, STATUS_FIELDS, fmt)


# --- notifications ----------------------------------------------------------------------


def _dispatch(
    app: App,
    *,
    linger: float | None = None,
    lease: float | None = None,
    out: TextIO | None = None,
    quiet_if_idle: bool = False,
) -> bool:
    """Send what is pending and print one line per attempt; True if something failed."""
    from watcher.delivery.outbox import DispatchPolicy, dispatch, print_report

    defaults = DispatchPolicy()
    policy = DispatchPolicy(
        linger=defaults.linger if linger is None else linger,
        lease=defaults.lease if lease is None else lease,
    )
    out = out or sys.stdout
    report = dispatch(app.sessions(), app.settings.config, policy=policy, stdout=out)
    if report.deliveries or report.still_failing or not quiet_if_idle:
        print_report(report, out)
    return report.failed


@cli.group(invoke_without_command=True)
@click.option(
    "--state",
    type=click.Choice(NOTIFICATION_STATES),
    help="Only notifications in this state.",
)
@LIST_FORMAT
@click.pass_context
def notifications(ctx: click.Context, state: str | None, fmt: str) -> None:
    """The delivery log: every queued notification and what became of it.

    `watcher notifications retry` sends dead ones again."""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    from watcher.cli.output import emit
    from watcher.delivery.outbox import NOTIFICATION_FIELDS, notification_rows

    with app.sessions()() as session:
        rows = notification_rows(session, state)
    table = ("id", "route", "kind", "state", "attempts", "created_at", "sent_at", "last_error")
    emit(rows, NOTIFICATION_FIELDS, fmt, table_fields=table)


@notifications.command("retry")
@click.argument("ids", nargs=-1, type=int, metavar="[ID]...")
@click.option("--dead", "every_dead", is_flag=True, help="Every dead notification.")
@pass_app
def notifications_retry(app: App, ids: tuple[int, ...], every_dead: bool) -> None:
    """Send dead notifications again (after the webhook or mail server was fixed): each ID,
    or with --dead every dead one, made pending with its attempts reset, then sent as
    `watcher dispatch` sends. Exit 1 if one went dead again or is still failing."""
    if bool(ids) == every_dead:
        fail("give the ids of dead notifications, or --dead for all of them", 2)
    from watcher.delivery.mend import NotDead, revive
    from watcher.storage.models import utcnow

    with app.sessions().begin() as session:
        try:
            revived = revive(session, ids or None, utcnow())
        except NotDead as exc:
            fail(str(exc), 2)
    if not revived:
        click.echo("no dead notifications")
        return
    click.echo(f"{len(revived)} dead notification(s) pending again: {', '.join(map(str, revived))}")
    if _dispatch(app):
        sys.exit(1)


@cli.command("dispatch")
@click.option(
    "--linger",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Wait for retries that fall due within this many seconds.",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=0),
    default=300.0,
    show_default=True,
    help="Seconds a notification being sent stays claimed; after a crash it is sent again "
    "once this has passed.",
)
@pass_app
def dispatch_cmd(app: App, linger: float, lease: float) -> None:
    """Send the pending notifications. Exit 1 if one went dead or is still failing."""
    if _dispatch(app, linger=linger, lease=lease):
        sys.exit(1)


@cli.group()
def notify() -> None:
    """Notification routes."""


@notify.command("test")
@click.argument("route")
@pass_app
def notify_test(app: App, route: str) -> None:
    """Send a test message on ROUTE now, once. Exit 1 if the channel did not confirm it."""
    from watcher.delivery.outbox import send_test, summary_line

    sessions = app.sessions()
    try:
        delivery = send_test(sessions, app.settings.config, route)
    except KeyError:
        fail(f"no route named {route} in the config", 2)
    click.echo(summary_line(delivery))
    if delivery.outcome != "sent":
        sys.exit(1)


# --- demo and database ------------------------------------------------------------------


@cli.command()
@pass_app
def demo(app: App) -> None:
    """Run the whole pipeline offline on the bundled real page history and print the changes.

    Uses a fresh temporary SQLite database unless --db (or WATCHER_DATABASE_URL) is given.
    """
    import tempfile

    from watcher.audit.queries import ChangeFilter, change_rows
    from watcher.cli.demo import SOURCE_NAME, run_demo
    from watcher.cli.output import print_change_log

    with tempfile.TemporaryDirectory(prefix="watcher-demo-") as tmp:
        if app.db_url is None:
            app.db_url = f"sqlite:///{tmp}/demo.db"
        # The demo never reads the user's config: it is about the bundled pages only.
        app.config_path = None
        sessions = app.sessions()

        def report(label: str, o: Outcome) -> None:
            click.echo(f"page of {label}: {_outcome_line(o)}")

        click.echo(
            "Serving the bundled page history from a local HTTP server, checking each version:"
        )
        outcomes = run_demo(app.engine, report)
        with sessions() as session:
            rows = change_rows(session, ChangeFilter(source=SOURCE_NAME))
        click.echo(f"\nChange log ({len(rows)} changes):")
        print_change_log(rows)
        app.engine.dispose()
    if any(o.failed for o in outcomes):
        sys.exit(1)


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Run the Alembic migrations to head."""
    from watcher.storage.connections import SCHEMA_HEAD
    from watcher.storage.engine import ensure_schema

    try:
        ran = ensure_schema(app.engine)
    except Exception as exc:  # noqa: BLE001
        fail(f"migration failed: {type(exc).__name__}: {exc}")
    click.echo(f"database at {SCHEMA_HEAD} ({'migrated' if ran else 'already up to date'})")


@cli.group("config")
def config_group() -> None:
    """Configuration."""


@config_group.command("check")
@pass_app
def config_check(app: App) -> None:
    """Validate the config and say exactly what is wrong."""
    s = app.settings
    where = str(s.config_path) if s.config_path else "built-in defaults (no config file)"
    click.echo(f"config: {where}")
    click.echo(f"database: {redact_url(s.database_url)}")
    for src in s.config.sources:
        schedule = f"cron {src.cron}" if src.cron else f"every {src.every or '1h'}"
        click.echo(f"source {src.name}: {src.url} ({src.format}, {schedule})")
    for route in s.config.routes:
        click.echo(f"route {route.name}: {route.channel}{' (ops)' if route.ops else ''}")
    import os

    from watcher.delivery.channels import missing_secrets

    # Names only, never values: this output ends up in CI logs and tickets.
    missing = [
        f"route {route.name}: {key}: the environment variable {name} is not set"
        for route in s.config.routes
        for key, name in missing_secrets(route, os.environ)
    ]
    for problem in missing:
        click.echo(f"watcher: {problem}", err=True)
    if missing:
        sys.exit(2)
    click.echo("ok")


# The operator's decisions on held snapshots (imported last: the module uses the above).
from watcher.cli.snapshots import accept, reject  # noqa: E402

cli.add_command(accept)
cli.add_command(reject)


def main() -> None:
    cli()
