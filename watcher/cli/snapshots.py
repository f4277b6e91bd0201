"""``watcher accept`` and ``watcher reject``: an operator decides a snapshot the guard held.

Registered on the group in watcher.cli. Both act in one transaction and print one line per
snapshot they settled, in the words of ``watcher check``.
"""

from __future__ import annotations

import click

from watcher.cli import App, _outcome_line, fail, pass_app


@click.command()
@click.argument("snapshot_id", type=int)
@pass_app
def accept(app: App, snapshot_id: int) -> None:
    """Accept a quarantined snapshot as the baseline, then diff the snapshots held behind it.

    A page that reads like the accepted one is diffed against it; any other (a new format,
    another language) is recorded as one format_changed event."""
    from watcher.config import GuardConfig
    from watcher.ingest.holds import accept_held
    from watcher.storage.models import Snapshot

    with app.sessions().begin() as session:
        snap = session.get(Snapshot, snapshot_id)
        if snap is None:
            fail(f"no snapshot {snapshot_id}", 2)
        configured = app.settings.config.source(snap.source.name)
        guard = (configured.guard if configured is not None else GuardConfig()).policy()
        try:
            outcomes = accept_held(
                session, snap.source, snap, routes=app.settings.config.routes, guard=guard
            )
        except ValueError as exc:
            fail(str(exc), 2)
    for outcome in outcomes:
        click.echo(_outcome_line(outcome))


@click.command()
@click.argument("snapshot_id", type=int)
@click.option("--reason", metavar="TEXT", help="Why, kept with the snapshot for the audit.")
@pass_app
def reject(app: App, snapshot_id: int, reason: str | None) -> None:
    """Reject a quarantined snapshot: kept for the audit with its reason, never diffed, and
    no longer in the way of importing older history."""
    from watcher.ingest.holds import reject as reject_snapshot
    from watcher.storage.models import Snapshot

    with app.sessions().begin() as session:
        snap = session.get(Snapshot, snapshot_id)
        if snap is None:
            fail(f"no snapshot {snapshot_id}", 2)
        try:
            reject_snapshot(snap, reason)
        except ValueError as exc:
            fail(str(exc), 2)
        name = snap.source.name
    click.echo(f"{name}: snapshot {snapshot_id} rejected; kept for the audit, never diffed")
