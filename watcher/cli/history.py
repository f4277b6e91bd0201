"""The audit's questions: ``watcher changes`` (the change log), ``watcher history`` (one
entity's timeline), ``watcher state`` (the table at a moment) and ``watcher export`` (the change
log with provenance, for auditors). The answers are watcher.audit's queries; this module reads
the options and prints.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import click

from watcher.cli.app import App, pass_app
from watcher.cli.errors import BadUsage, Failure
from watcher.cli.params import (
    LIST_FORMAT,
    SINCE,
    SOURCE,
    UNTIL,
    Moment,
    When,
    format_option,
    known_value,
    span,
    utc,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from watcher.audit.changes import ChangeFilter


@click.command()
@SOURCE
@SINCE
@UNTIL
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
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="At most N changes (with --after, the next page). On a terminal: the newest N "
    "(default 50).",
)
@click.option(
    "--after",
    type=int,
    metavar="ID",
    help="The changes after change ID in the log's order (the last id of the page before).",
)
@LIST_FORMAT
@pass_app
def changes(
    app: App,
    source: str | None,
    since: Moment | None,
    until: Moment | None,
    entity: str | None,
    column: str | None,
    kind: str | None,
    severity: str | None,
    limit: int | None,
    after: int | None,
    fmt: str,
) -> None:
    """The change log."""
    from watcher.audit.changes import ChangeFilter

    start, end = span(since, until)
    f = ChangeFilter(
        source=source,
        since=start,
        until=end,
        entity=entity,
        column=column,
        kind=kind,
        severity=severity,
    )
    from watcher.cli.output import TERMINAL_ROWS, for_a_person, print_change_log, say_more

    if fmt != "table":
        from watcher.audit.changes import CHANGE_ARRAYS, CHANGE_FIELDS
        from watcher.cli.output import write_csv_values, write_json_values

        values = app.read_pages(_change_values, f, after=after, limit=limit, cursor=lambda v: v[0])
        written = 0

        def counted() -> Iterator[list[Any]]:
            nonlocal written
            for value in values:
                written += 1
                yield value

        write = write_json_values if fmt == "json" else write_csv_values
        write(counted(), CHANGE_FIELDS, sys.stdout, arrays=CHANGE_ARRAYS)
        note = _no_such_entity(app, f) if not written else None
        if note is not None:  # said beside the empty list, which stays what a script reads
            click.echo(f"watcher: {note}", err=True)
        return

    def nothing() -> str:
        return _no_such_entity(app, f) or "no changes"

    if after is not None or not for_a_person(fmt):
        from watcher.cli.output import print_summarized_log

        pages = app.read_pages(
            _summarized_page, f, after=after, limit=limit, cursor=lambda pair: pair[0]["id"]
        )
        print_summarized_log(pages, none=nothing)
        return
    # A person at a terminal: the newest checks' changes first, a screenful.
    shown = limit or TERMINAL_ROWS
    rows, summaries = app.read(_change_log, f, after=None, limit=shown + 1, newest_first=True)
    print_change_log(rows[:shown], summaries=summaries, none=nothing)
    if len(rows) > shown:
        say_more(shown, "changes", "changes")


def _no_such_entity(app: App, f: ChangeFilter) -> str | None:
    """For a change log that came out empty: the line saying that its --entity names no
    entity the history ever had (with the closest name), else None. A misspelt name must
    not read as "no changes", which is true of no entity at all."""
    if f.entity is None:
        return None
    from watcher.audit.changes import entity_glob
    from watcher.audit.history import unknown_entity

    return app.read(unknown_entity, f.entity, entity_glob(f.entity), f.source)


def _change_values(
    session: Session, f: ChangeFilter, *, after: int | None, limit: int | None
) -> list[list[Any]]:
    """One page of the change log as its rows' values (id first), what JSON and CSV are
    written from (no dict per row: the whole log streams several times faster)."""
    from watcher.audit.changes import iter_change_values

    return list(iter_change_values(session, f, after=after, limit=limit))


def _summarized_page(
    session: Session, f: ChangeFilter, *, after: int | None, limit: int | None
) -> list[tuple[dict[str, Any], Any]]:
    """One page of the change log, each change with its summary line (None but for a
    section-wide change), read in one transaction."""
    rows, summaries = _change_log(session, f, after=after, limit=limit)
    return [(row, summaries.get(row["id"])) for row in rows]


def _summaries(session: Session, rows: Sequence[dict[str, Any]]) -> Mapping[int, Any]:
    """The summary lines of the section-wide changes among the rows, by change id."""
    if not any(r["kind"] in ("section_added", "section_removed") for r in rows):
        return {}  # nothing to summarize: the delivery's renderer is not loaded
    from watcher.delivery.outbox import section_summaries

    return section_summaries(session, rows)


def _change_log(
    session: Session,
    f: ChangeFilter,
    *,
    after: int | None,
    limit: int | None,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], Mapping[int, Any]]:
    """The rows of the change log, and for a section added or removed the summary the table
    shows in place of its entities."""
    from watcher.audit.changes import iter_change_rows

    rows = list(iter_change_rows(session, f, after=after, limit=limit, newest_first=newest_first))
    return rows, _summaries(session, rows)


@click.command()
@click.argument("entity")
@SOURCE
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
    from watcher.audit.history import HISTORY_FIELDS, history_rows
    from watcher.cli.output import emit

    rows = app.read(history_rows, entity, source=source, row=row, column=column)
    if not rows and (row or column):
        every = app.read(history_rows, entity, source=source)
        if every:
            # The entity has a history: the row or column filter names nothing of it.
            wanted = " with ".join(
                f"{what} {value!r}" for what, value in (("row", row), ("column", column)) if value
            )
            rows_of = ", ".join(sorted({r["row"] for r in every if r["row"]})) or "none"
            columns_of = ", ".join(sorted({r["column"] for r in every if r["column"]})) or "none"
            raise BadUsage(
                f"{entity!r} has no {wanted} (its rows: {rows_of}; its columns: {columns_of})"
            )
    if not rows:
        from watcher.audit.history import unknown_entity
        from watcher.audit.sources import entity_matcher

        note = app.read(unknown_entity, entity, entity_matcher(entity), source)
        click.echo(f"watcher: {note or f'no history for {entity!r}'}", err=True)
    table = ("entity", "row", "column", "status", "raw", "since", "until", "snapshot", "change")
    emit(rows, HISTORY_FIELDS, fmt, table_fields=table, title=entity)


@click.command()
@SOURCE
@click.option(
    "--at",
    type=When(),
    metavar="DATE",
    help="ISO 8601 date or datetime, UTC unless an offset is given; a bare date is "
    "00:00 UTC that day. Default: now.",
)
@click.option("--entity", metavar="NAME|GLOB", help="Only this entity (any spelling, or a glob).")
@LIST_FORMAT
@pass_app
def state(app: App, source: str | None, at: Moment | None, entity: str | None, fmt: str) -> None:
    """The whole table as it stood at a moment: the latest accepted snapshot taken at or
    before it, each cell with `since`, when it took its current value."""
    from watcher.audit.state import STATE_FIELDS, state_rows
    from watcher.cli.output import emit

    rows = app.read(state_rows, source, utc(at), entity)
    said = at.text if at is not None else "now"
    if not rows:
        every = app.read(state_rows, source, utc(at)) if entity else []
        if every:  # the page was there: the entity is what matches nothing on it
            from watcher.domain.known import suggestion

            names = dict.fromkeys(r["entity"] for r in every)
            click.echo(
                f"watcher: no entity matching {entity!r} on the page as of {said}"
                f"{suggestion(str(entity), names)}",
                err=True,
            )
        else:
            click.echo(f"watcher: no accepted snapshot at or before {said}", err=True)
    table = ("entity", "row", "column", "status", "raw", "since", "snapshot")
    emit(rows, STATE_FIELDS, fmt, table_fields=table, title=f"as of {said}")


@click.command()
@SOURCE
@SINCE
@UNTIL
@format_option("csv", "json", default=None)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
@pass_app
def export(
    app: App,
    source: str | None,
    since: Moment | None,
    until: Moment | None,
    fmt: str,
    output: str | None,
) -> None:
    """The change log with its provenance, for auditors: each change with the sha256, time,
    origin and URL or commit id of the snapshots it lies between."""
    from pathlib import Path

    from watcher.audit.changes import ChangeFilter
    from watcher.audit.export import EXPORT_FIELDS, export_rows, write_exact_csv
    from watcher.cli.output import emit

    folder = Path(output).absolute().parent if output else None
    if folder is not None and not folder.is_dir():
        raise BadUsage(f"--output {output}: the folder {folder} does not exist")
    start, end = span(since, until)
    rows = app.read(export_rows, ChangeFilter(source=source, since=start, until=end))
    try:
        out = open(output, "w", encoding="utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    except OSError as exc:
        raise Failure(f"--output {output}: cannot write it: {exc.strerror}") from exc
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
