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

import gc

from watcher.cli.app import cli

__all__ = ["cli", "main"]

# The collector's first generation runs every this many net allocations (CPython's default
# is 700). A command's start-up creates a few hundred thousand objects that live as long as
# it does (the modules and classes of SQLAlchemy, click, httpx) and little garbage, and at
# the default every tenth pass over the young ones became a pass over all of them: 15-20 ms
# each, 20-35 ms of a 300-400 ms query command. Ten times fewer passes still collect every
# cycle a long run (the daemon, `serve`, an import of thousands of pages) leaves, a little
# later: memory stays bounded, unlike with the collector off.
GC_THRESHOLD = 7_000


def main() -> None:
    """The console script: ``watcher …``."""
    _, *older = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *older)
    cli()
