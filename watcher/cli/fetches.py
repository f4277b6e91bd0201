"""``watcher fetches``: the fetch log, the request by request story behind ``watcher status``.

Registered on the group in watcher.cli. Where ``status`` says a source is failing, this says
what each try met: the HTTP status, the bytes, the time taken, the error, and the snapshot
the page came to.
"""

from __future__ import annotations

import click

from watcher.cli import App, fail, pass_app

TABLE_FIELDS = ("time", "source", "attempt", "status", "bytes", "ms", "error", "snapshot")


@click.command()
@click.option("--source", help="Only this source.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="The latest this many requests.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@pass_app
def fetches(app: App, source: str | None, limit: int, fmt: str) -> None:
    """The fetch log, latest first: every HTTP request a check made for a page (each retry
    and each redirect is one), with its try number, HTTP status, bytes, milliseconds, error
    and the snapshot the page came to."""
    from watcher.audit.queries import UnknownSource, iso, require_source
    from watcher.cli.output import emit
    from watcher.storage.checks import FETCH_FIELDS, fetch_rows
    from watcher.storage.store import driver

    with app.sessions()() as session:
        try:
            require_source(session, source)
        except UnknownSource as exc:
            fail(str(exc), 2)
        rows = fetch_rows(driver(session), source, limit)
    rows = [{**row, "time": iso(row["time"])} for row in rows]
    emit(rows, FETCH_FIELDS, fmt, table_fields=TABLE_FIELDS)
