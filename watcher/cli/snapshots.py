"""Stored snapshots: ``watcher snapshots`` (the list), ``watcher show`` (a page byte for byte),
``watcher diff`` (any two, compared now), and the operator's decisions on a snapshot the guard
held, ``watcher accept`` and ``watcher reject``.

Accept and reject each act in one transaction (watcher.ingest.holds) and print one line per
snapshot they settled, in the words of ``watcher check``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from watcher.cli.app import App, pass_app
from watcher.cli.errors import BadUsage
from watcher.cli.outcomes import outcome_line
from watcher.cli.params import LIST_FORMAT, SOURCE

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@click.command()
@SOURCE
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="At most N snapshots. On a terminal: the newest N (default 50).",
)
@LIST_FORMAT
@pass_app
def snapshots(app: App, source: str | None, limit: int | None, fmt: str) -> None:
    """Stored snapshots: accepted, quarantined (held by the guard) or rejected."""
    from watcher.audit.snapshots import SNAPSHOT_FIELDS, latest_snapshot_rows
    from watcher.cli.output import TERMINAL_ROWS, emit, for_a_person, say_more

    table = ("id", "source", "fetched_at", "state", "origin", "doc_date", "records", "reason")
    if for_a_person(fmt):
        shown = limit or TERMINAL_ROWS
        rows = app.read(latest_snapshot_rows, source, shown + 1)
        emit(rows[:shown], SNAPSHOT_FIELDS, fmt, table_fields=table)
        if len(rows) > shown:
            say_more(shown, "snapshots", "snapshots")
        return
    # Every snapshot (or the first N), a page at a time, each read in a transaction of its own.
    listing = app.read_pages(_snapshot_page, source, after=None, limit=limit, cursor=_id)
    emit(listing, SNAPSHOT_FIELDS, fmt, table_fields=table)


def _snapshot_page(
    session: Session, source: str | None, *, after: int | None, limit: int
) -> list[dict[str, Any]]:
    """One page of the listing in its order, after the snapshot ``after`` (``limit``: the
    page's size, which App.read_pages always gives)."""
    from watcher.audit.snapshots import snapshot_page

    return snapshot_page(session, source, after=after, limit=limit)[0]


def _id(row: dict[str, Any]) -> int:
    return int(row["id"])


@click.command()
@click.argument("snapshot_id", type=int)
@pass_app
def show(app: App, snapshot_id: int) -> None:
    """Print a stored page byte for byte as it was fetched (its sha256 is the snapshot's)."""
    from watcher.audit.snapshots import snapshot_body

    body = app.read(snapshot_body, snapshot_id)
    if body is None:
        raise BadUsage(f"no snapshot {snapshot_id}")
    # Bytes: click writes them to the binary stream as they are, with no newline added.
    click.echo(body, nl=False)


@click.command("diff")
@click.argument("old_id", type=int)
@click.argument("new_id", type=int)
@LIST_FORMAT
@pass_app
def diff_snapshots(app: App, old_id: int, new_id: int, fmt: str) -> None:
    """Diff any two stored snapshots (accepted or quarantined), oldest first."""
    from watcher.audit.changes import CHANGE_FIELDS
    from watcher.audit.compare import diff_rows
    from watcher.cli.output import emit, print_change_log

    rows = app.read(diff_rows, old_id, new_id)
    if fmt == "table":
        print_change_log(rows)
    else:
        emit(rows, CHANGE_FIELDS, fmt)


@click.command()
@click.argument("snapshot_id", type=int)
@pass_app
def accept(app: App, snapshot_id: int) -> None:
    """Accept a quarantined snapshot as the baseline, then diff the snapshots held behind it.

    A page that reads like the accepted one is diffed against it; any other (a new format,
    another language) is recorded as one format_changed event."""
    from watcher.ingest.holds import accept_stored

    for outcome in accept_stored(app.sessions(), snapshot_id, app.settings.config):
        click.echo(outcome_line(outcome))


@click.command()
@click.argument("snapshot_id", type=int)
@click.option("--reason", metavar="TEXT", help="Why, kept with the snapshot for the audit.")
@pass_app
def reject(app: App, snapshot_id: int, reason: str | None) -> None:
    """Reject a quarantined snapshot: kept for the audit with its reason, never diffed, and
    no longer in the way of importing older history."""
    from watcher.ingest.holds import reject_stored

    name = reject_stored(app.sessions(), snapshot_id, reason)
    click.echo(f"{name}: snapshot {snapshot_id} rejected; kept for the audit, never diffed")
