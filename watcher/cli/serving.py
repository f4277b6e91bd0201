"""``watcher serve``: the read-only web view, its JSON API and its feeds (watcher.web) on
uvicorn, in the foreground, until SIGINT or SIGTERM."""

from __future__ import annotations

import click

from watcher.cli.app import App, pass_app
from watcher.cli.errors import BadUsage


@click.command()
@click.option(
    "--host", metavar="HOST", help="Address to listen on (default [web] host: 127.0.0.1)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    metavar="N",
    help="Port to listen on (default [web] port: 8080; 0 picks a free one).",
)
@pass_app
def serve(app: App, host: str | None, port: int | None) -> None:
    """Serve the web view: the page now and as of any date, timelines, changes, diffs,
    snapshots and status; the JSON API under /api/v1/ and Atom feeds under /feeds/."""
    import os

    from watcher.web.serve import WebSetupError, bind, build, run, url

    web = app.settings.config.web
    sessions = app.sessions()  # migrated, as for every command that reads
    try:
        asgi = build(sessions, app.settings.config, os.environ)
        sock = bind(host or web.host, web.port if port is None else port)
    except WebSetupError as exc:
        raise BadUsage(str(exc)) from None
    click.echo(f"watcher: serving the web view on {url(sock)} (Ctrl-C stops)", err=True)
    run(asgi, sock)
