"""``watcher check`` (one check of each source now, for cron) and ``watcher run`` (the
daemon that schedules checks and delivery).

``check`` is the cron path, kept lean: an unchanged page is settled on the raw driver
(watcher.ingest.check) without SQLAlchemy, the parser or the notifiers, and nothing of them is
imported unless the run needs it (tests/ingest/test_check.py, bench/cron.py).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from watcher.cli.app import App, pass_app
from watcher.cli.errors import BadUsage, database_problem
from watcher.cli.outcomes import outcome_json, outcome_line
from watcher.cli.params import format_option

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from watcher.config import Settings
    from watcher.web.serve import Background


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--dry-run", is_flag=True, help="Fetch, parse and diff, but store nothing.")
@format_option("table", "json")
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

    from watcher.ingest.check import CheckOptions, run_checks

    config = app.settings.config
    chosen = [s for s in config.sources if not sources or s.name in sources]
    unknown = set(sources) - {s.name for s in config.sources}
    if unknown:
        names = ", ".join(s.name for s in config.sources) or "none"
        raise BadUsage(
            f"no source named {', '.join(sorted(unknown))} in the config (known: {names})"
        )
    if not chosen:
        raise BadUsage("the config has no sources to check")
    if not _schema_current(app):
        app.sessions()  # migrates
    options = CheckOptions(dry_run=dry_run)
    outcomes = run_checks(app.database, chosen, config.routes, jobs=jobs, options=options)
    if fmt == "json":
        click.echo(json.dumps([outcome_json(o) for o in outcomes], indent=2))
    else:
        for o in outcomes:
            # A failure is an error: stderr, where cron mails it and a pipe does not eat it.
            click.echo(("(dry run) " if dry_run else "") + outcome_line(o), err=o.failed)
    delivery_failed = False
    if not dry_run and not _outbox_idle(app):
        from watcher.cli.delivery import send_pending

        # JSON on stdout stays parseable: the delivery report (and stdout routes) go to stderr.
        delivery_failed = send_pending(
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


@click.command("run")
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    help="Serve Prometheus /metrics and /healthz here.",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@pass_app
def run_daemon(app: App, metrics_port: int | None, metrics_host: str) -> None:
    """The daemon: schedules checks and delivery; stops cleanly on SIGTERM/SIGINT, reloads
    the config on SIGHUP. With ``[web] enabled = true`` it serves the web view too, on
    ``[web] host`` (localhost by default) and ``port``."""
    from watcher.cli.daemon import Daemon
    from watcher.cli.metrics import Metrics, serve

    sessions = app.sessions()  # migrate before the first tick
    if not app.settings.config.sources:
        raise BadUsage("the config has no sources to watch")
    metrics = Metrics() if metrics_port is not None else None

    def load() -> Settings:
        from watcher.config import resolve

        return resolve(app.config_path, app.db_url)

    def deliver() -> None:
        import logging

        from sqlalchemy.exc import SQLAlchemyError

        from watcher.delivery.outbox import DispatchPolicy, dispatch

        try:
            # No lingering: the daemon comes back on its own schedule for the retries.
            dispatch(sessions, daemon.settings.config, policy=DispatchPolicy(linger=0))
        except SQLAlchemyError as exc:
            # A full disk, a database gone: one line, not the scheduler's traceback. The
            # next tick tries again; a row sent but not recorded waits out its lease.
            problem = database_problem(exc, app.settings.database_url)
            logging.getLogger("watcher.delivery.outbox").error("delivery stopped: %s", problem)

    daemon = Daemon(app.engine, load, metrics=metrics, dispatch=deliver)
    if metrics is not None and metrics_port is not None:
        try:
            serve(metrics, metrics_port, lambda: daemon.alive, host=metrics_host)
        except OSError as exc:
            raise BadUsage(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc}") from exc
    web = _web_view(app, sessions)
    try:
        daemon.start()
    finally:
        if web is not None:
            web.stop()


def _web_view(app: App, sessions: sessionmaker[Session]) -> Background | None:
    """The web view on a thread of the daemon when the config enables it (it keeps the
    config the daemon started with: a reload does not move it), else None."""
    config = app.settings.config
    if not config.web.enabled:
        return None
    import os

    from watcher.web.serve import Background, WebSetupError, bind, build

    try:
        web = Background(
            build(sessions, config, os.environ), bind(config.web.host, config.web.port)
        )
    except WebSetupError as exc:
        raise BadUsage(str(exc)) from None
    web.start()
    return web
