"""Commands that read pages from elsewhere than the source's URL, or read stored ones again:
``watcher import`` (files), ``watcher backfill git`` (a clone's history), ``watcher parse``
(one page's records, stored nowhere) and ``watcher reparse`` (stored pages, current parser).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from watcher.cli.app import App, pass_app
from watcher.cli.errors import Failure, database_problem
from watcher.cli.outcomes import outcome_line
from watcher.cli.params import (
    LIST_FORMAT,
    NEW_SOURCE,
    PAGE_FORMAT,
    SOURCE,
    Moment,
    When,
    format_option,
    utc,
)

if TYPE_CHECKING:
    from watcher.config import SourceConfig
    from watcher.domain.outcome import Outcome
    from watcher.ingest.backfill import Commit
    from watcher.ingest.importer import ImportItem, ImportStopped
    from watcher.ingest.reparse import ReparseReport

IMPORT_BAR_FROM = 5  # files: fewer go by too fast for a progress bar to help


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@NEW_SOURCE
@click.option(
    "--at",
    "at",
    type=When(),
    metavar="ISO8601",
    help="Time of the (first) version; default ms.date.",
)
@click.option("--as", "page_format", type=PAGE_FORMAT, help="Page format; default by extension.")
@click.option("--notify", is_flag=True, help="Queue notifications for the changes found.")
@pass_app
def import_(
    app: App,
    files: tuple[str, ...],
    source: str,
    at: Moment | None,
    page_format: str | None,
    notify: bool,
) -> None:
    """Store FILES as successive snapshots of SOURCE, diffing each against the previous.

    One line per file as it is stored (with a progress bar on a terminal for many files);
    at a file that cannot be stored, says how many were stored before it and exits 1."""
    from watcher.config import GuardConfig
    from watcher.ingest.importer import ImportStopped, import_files

    configured = app.settings.config.source(source)
    # Every file is read and checked before any is stored: a typo'd, empty or binary file
    # among them costs nothing.
    items = _read_files(files, configured, at)
    sessions = app.sessions()
    with _telling_stored(len(files)) as stored:
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
            raise Failure(_stopped(exc, app.settings.database_url)) from exc


def _read_files(
    files: tuple[str, ...], configured: SourceConfig | None, at: Moment | None
) -> list[ImportItem]:
    """The files to import, each read and refused (NotAPage) if it is no page."""
    from watcher.config import DEFAULT_MAX_BYTES
    from watcher.ingest.importer import ImportItem
    from watcher.ingest.reading import read_page_file

    cap = configured.max_bytes if configured is not None else DEFAULT_MAX_BYTES
    try:
        return [ImportItem(Path(f), read_page_file(Path(f), cap), at=utc(at)) for f in files]
    except OSError as exc:
        raise Failure(f"cannot read {exc.filename}: {exc.strerror}") from exc


@contextmanager
def _telling_stored(count: int) -> Iterator[Callable[[Path, Outcome], None]]:
    """What prints a stored file's line: above a progress bar, on a terminal, for many files."""
    if not (sys.stdout.isatty() and count >= IMPORT_BAR_FROM):
        yield lambda path, o: click.echo(f"{path}: {outcome_line(o)}")
        return
    from rich.console import Console
    from rich.progress import Progress

    # Refreshed as files are stored, not by rich's own thread: the import forks a worker
    # only from a process running no other thread (watcher.ingest.ahead).
    with Progress(console=Console(), transient=True, auto_refresh=False) as bar:
        task = bar.add_task("importing", total=count)
        shown = [0.0]

        def stored(path: Path, o: Outcome) -> None:
            # Printed above the bar as it is: no markup, no wrapping of a long path.
            line = f"{path}: {outcome_line(o)}"
            bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
            bar.advance(task)
            if time.monotonic() - shown[0] >= 0.1:  # ten times a second, as rich's thread
                bar.refresh()
                shown[0] = time.monotonic()

        yield stored


def _stopped(exc: ImportStopped, url: str) -> str:
    """Why an import stopped; the database's trouble worded as for every other command."""
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc.__cause__, DBAPIError):
        return exc.retold(database_problem(exc.__cause__, url))
    return str(exc)


@click.group()
def backfill() -> None:
    """Import a page's past versions from where its history is kept."""


@backfill.command("git")
@click.argument("repo_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("path")
@NEW_SOURCE
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
    from watcher.ingest.backfill import backfill_git as run_backfill

    configured = app.settings.config.source(source)
    sessions = app.sessions()
    with _git_progress() as report:
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
    for step in steps:
        c = step.commit
        moved = "" if c.at == c.committed_at else " (placed after the commit before it)"
        what = outcome_line(step.outcome) if step.outcome else f"{source}: already stored"
        click.echo(f"{c.sha[:12]} {c.at:%Y-%m-%dT%H:%M:%SZ}{moved} {c.path}: {what}")
    stored = sum(1 for s in steps if s.outcome is not None and s.outcome.result != "unchanged")
    click.echo(f"{len(steps)} commit(s): {stored} new snapshot(s)")


@contextmanager
def _git_progress() -> Iterator[Callable[[int, int, Commit], None] | None]:
    """A progress bar on stderr when it is a terminal, told each commit as it is stored."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("git history", total=None)

        def report(done: int, total: int, commit: Commit) -> None:
            label = f"{commit.sha[:12]} {commit.at:%Y-%m-%d}"
            bar.update(task, completed=done, total=total, description=label)

        yield report


@click.command()
@click.argument("target", metavar="FILE|URL")
@click.option("--as", "page_format", type=PAGE_FORMAT, default="auto", show_default=True)
@LIST_FORMAT
@click.option("--diagnostics", is_flag=True, help="Counts per status, unknown values, warnings.")
def parse(target: str, page_format: str, fmt: str, diagnostics: bool) -> None:
    """Print the records of one page (a file or a URL)."""
    from watcher.cli.output import emit
    from watcher.ingest.reading import diagnostics_rows, read_target, record_rows, refuse_no_page
    from watcher.parse import parse as parse_page

    try:
        body, content_type = read_target(target)
    except OSError as exc:
        raise Failure(f"cannot read {target}: {exc}") from exc
    refuse_no_page(target, body, "page" if target.startswith(("http://", "https://")) else "file")
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


@click.command()
@SOURCE
@click.option("--dry-run", is_flag=True, help="Report what would change; store nothing.")
@format_option("table", "json")
@pass_app
def reparse(app: App, source: str | None, dry_run: bool, fmt: str) -> None:
    """Re-read stored pages with the current parser; say which stored changes that alters."""
    import dataclasses
    import json

    from watcher.audit.sources import require_source
    from watcher.ingest.reparse import reparse_stored

    app.read(require_source, source)
    routes = app.settings.config.routes
    report = reparse_stored(app.sessions(), source, routes=routes, dry_run=dry_run)
    if fmt == "json":
        click.echo(json.dumps(dataclasses.asdict(report), indent=2, ensure_ascii=False))
    else:
        _print_reparse(report, dry_run)


def _print_reparse(report: ReparseReport, dry_run: bool) -> None:
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
