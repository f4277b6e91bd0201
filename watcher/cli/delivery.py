"""Delivery from the command line: ``watcher notifications`` (the delivery log) and
``notifications retry`` (dead ones again), ``watcher dispatch`` (send what is pending) and
``watcher notify test`` (one test message on a route). The outbox itself is watcher.delivery.
"""

from __future__ import annotations

import sys
from typing import TextIO

import click

from watcher.cli.app import App, pass_app
from watcher.cli.errors import BadUsage
from watcher.cli.params import LIST_FORMAT
from watcher.delivery.states import STATES


def send_pending(
    app: App,
    *,
    linger: float | None = None,
    lease: float | None = None,
    out: TextIO | None = None,
    quiet_if_idle: bool = False,
) -> bool:
    """Send what is pending and print one line per attempt; True if something failed.
    ``watcher check`` ends with it too."""
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


@click.group(invoke_without_command=True)
@click.option(
    "--state",
    type=click.Choice(STATES),
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
    from watcher.cli.output import TERMINAL_ROWS, emit, for_a_person, say_more
    from watcher.delivery.outbox import NOTIFICATION_FIELDS, notification_rows

    rows = app.read(notification_rows, state, config=app.settings.config)
    table = (
        "id",
        "route",
        "kind",
        "state",
        "held",
        "stuck_since",
        "attempts",
        "created_at",
        "sent_at",
        "last_error",
    )
    if not for_a_person(fmt):
        emit(rows, NOTIFICATION_FIELDS, fmt, table_fields=table)
        return
    # A person at a terminal: the newest first, a screenful.
    emit(rows[::-1][:TERMINAL_ROWS], NOTIFICATION_FIELDS, fmt, table_fields=table)
    if len(rows) > TERMINAL_ROWS:
        say_more(TERMINAL_ROWS, "notifications", "notifications", limit=False)


@notifications.command("retry")
@click.argument("ids", nargs=-1, type=int, metavar="[ID]...")
@click.option("--dead", "every_dead", is_flag=True, help="Every dead notification.")
@pass_app
def notifications_retry(app: App, ids: tuple[int, ...], every_dead: bool) -> None:
    """Send dead notifications again (after the webhook or mail server was fixed): each ID,
    or with --dead every dead one, made pending with its attempts reset, then sent as
    `watcher dispatch` sends. Exit 1 if one went dead again or is still failing."""
    if bool(ids) == every_dead:
        raise BadUsage("give the ids of dead notifications, or --dead for all of them")
    from watcher.delivery.mend import revive_now

    revived = revive_now(app.sessions(), ids or None)
    if not revived:
        click.echo("no dead notifications")
        return
    click.echo(f"{len(revived)} dead notification(s) pending again: {', '.join(map(str, revived))}")
    if send_pending(app):
        sys.exit(1)


@click.command("dispatch")
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
    if send_pending(app, linger=linger, lease=lease):
        sys.exit(1)


@click.group()
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
        raise BadUsage(f"no route named {route} in the config") from None
    click.echo(summary_line(delivery))
    if delivery.outcome != "sent":
        sys.exit(1)
