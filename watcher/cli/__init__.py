"""The ``watcher`` command line: parse arguments, call one function, print.

Exit status: 0 success (changes or not), 1 an operational failure, 2 bad usage or config.
The group, its global options and the table of commands are in ``app``; the commands, one
module per family: ``checking`` (check, run), ``pages`` (import, backfill git, parse,
reparse), ``history`` (changes, history, state, export), ``snapshots`` (snapshots, show,
diff, accept, reject), ``delivery`` (notifications, dispatch, notify test), ``admin``
(status, fetches, db upgrade, config check), ``demo``, ``serving`` (serve: the web view).
Shared options and types are in ``params``, errors and their exit codes in ``errors``,
printing in ``output`` and ``outcomes``; the daemon and its metrics in ``daemon`` and
``metrics``.

May import: every other folder; nothing imports the command line. Heavy modules are imported
inside the commands that need them, so ``watcher --help`` and a cron check stay quick.
"""

from __future__ import annotations

from watcher.cli.app import cli

__all__ = ["cli", "main"]


def main() -> None:
    cli()
