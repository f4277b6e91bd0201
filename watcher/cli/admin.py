"""Running watcher: ``watcher status`` (each source's health and what waits to be sent),
``watcher fetches`` (the request by request story behind it), ``watcher db upgrade`` (the
migrations) and ``watcher config check`` (the config, read and judged, secrets named but
never shown)."""

from __future__ import annotations

import sys

import click

from watcher.cli.app import App, pass_app
from watcher.cli.errors import BadUsage, Failure, database_problem, misplaced_sqlite
from watcher.cli.params import LIST_FORMAT, SOURCE, format_option


@click.command()
@LIST_FORMAT
@pass_app
def status(app: App, fmt: str) -> None:
    """Per source: last check, last success, last change, failures in a row, state, and the
    pending and dead notifications."""
    from watcher.audit.status import STATUS_FIELDS, status_rows
    from watcher.cli.output import emit

    emit(app.read(status_rows, app.settings.config), STATUS_FIELDS, fmt)


@click.command()
@SOURCE
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="The latest this many requests.",
)
@format_option("table", "json", help="Output format.")
@pass_app
def fetches(app: App, source: str | None, limit: int, fmt: str) -> None:
    """The fetch log, latest first: every HTTP request a check made for a page (each retry
    and each redirect is one), with its try number, HTTP status, bytes, milliseconds, error
    and the snapshot the page came to."""
    from watcher.audit.fetches import FETCH_FIELDS, fetch_rows
    from watcher.cli.output import emit, for_a_person

    table = ("time", "source", "attempt", "status", "bytes", "ms", "error", "snapshot")
    if not for_a_person(fmt):
        emit(app.read(fetch_rows, source, limit), FETCH_FIELDS, fmt, table_fields=table)
        return
    rows = app.read(fetch_rows, source, limit + 1)
    emit(rows[:limit], FETCH_FIELDS, fmt, table_fields=table)
    if len(rows) > limit:
        print(f"watcher: the latest {limit} requests are shown; --limit N shows more",
              file=sys.stderr)  # fmt: skip


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_app
def db_upgrade(app: App) -> None:
    """Run the Alembic migrations to head."""
    from watcher.storage.engine import ensure_schema
    from watcher.storage.migrations import SCHEMA_HEAD

    engine = app.engine  # outside the try: a bad URL is told as itself
    try:
        ran = ensure_schema(engine)
    except Exception as exc:  # told as every command tells a database it cannot prepare
        url = app.settings.database_url
        problem = f"migration failed: {database_problem(exc, url)}"
        raise (BadUsage if misplaced_sqlite(url) else Failure)(problem) from exc
    click.echo(f"database at {SCHEMA_HEAD} ({'migrated' if ran else 'already up to date'})")


@click.group("config")
def config_group() -> None:
    """Configuration."""


@config_group.command("check")
@pass_app
def config_check(app: App) -> None:
    """Validate the config and say exactly what is wrong."""
    import os

    from watcher.delivery.channels import missing_secrets, plain_http_urls
    from watcher.delivery.channels.apprise import EXTRA
    from watcher.delivery.channels.apprise import installed as apprise_installed
    from watcher.storage.dialect import redact_url

    app.cached_config = False  # this command judges the file itself, never the cache
    s = app.settings
    where = str(s.config_path) if s.config_path else "built-in defaults (no config file)"
    click.echo(f"config: {where}")
    click.echo(f"database: {redact_url(s.database_url)}")
    for src in s.config.sources:
        schedule = f"cron {src.cron}" if src.cron else f"every {src.every or '1h'}"
        click.echo(f"source {src.name}: {src.url} ({src.format}, {schedule})")
    for route in s.config.routes:
        digest = f", digest {route.digest}" if route.digest else ""
        click.echo(f"route {route.name}: {route.channel}{' (ops)' if route.ops else ''}{digest}")
    # Names only, never values: this output ends up in CI logs and tickets.
    missing = [
        f"route {route.name}: {key}: the environment variable {name} is not set"
        for route in s.config.routes
        for key, name in missing_secrets(route, os.environ)
    ]
    missing += [
        f"route {route.name}: {key}: the environment variable {name} holds no https:// URL "
        f"(a {route.channel} route posts over https only)"
        for route in s.config.routes
        for key, name in plain_http_urls(route, os.environ)
    ]
    if s.config.web.token_env is not None:
        from watcher.web.serve import WebSetupError, token

        try:
            token(s.config, os.environ)  # serve would refuse to start: say so here
        except WebSetupError as exc:
            missing.append(str(exc))
    if not apprise_installed():
        missing[:0] = [
            f"{where}: route {route.name}: channel apprise needs the apprise extra: "
            f"pip install '{EXTRA}'"
            for route in s.config.routes
            if route.channel == "apprise"
        ]
    for problem in missing:
        click.echo(f"watcher: {problem}", err=True)
    if missing:
        sys.exit(2)
    click.echo("ok")
