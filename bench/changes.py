"""Benchmark: `watcher changes` on `bench/history.py`'s 10,000-snapshot history, SQLite and
PostgreSQL: the filtered log (one entity, a glob, one column, one month) against ≤ 50 ms of
query, and the whole log streamed as JSON against ≥ 100,000 rows/s; and `watcher snapshots`
and `changes` on a terminal (the newest rows) and piped (every row, plain) against ≤ 1 s for
the whole command.

    .venv/bin/python bench/changes.py [--snapshots N] [--runs N] [--only DB] [--sqlite PATH]

Two levels. The query: the function the command calls (``iter_change_values``), in a fresh
session, median after two warm-ups; the whole log also written as JSON as the command
writes it (``write_json_values``) to a sink that keeps nothing. The command: the installed
console script in a fresh process, as a user runs it, its wall time and its own peak memory
(wait4), output to /dev/null; its streaming rate is the rows over the time the whole log
takes beyond a one-row page of it (the start-up both share). The database is history.py's
(built by it if missing; migrated to this schema). Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from common import measure
from history import END, SOURCE, START, TARGET_MS, database_options, database_targets, prepare
from sqlalchemy.orm import Session

from watcher.audit.changes import (
    CHANGE_ARRAYS,
    CHANGE_FIELDS,
    ChangeFilter,
    iter_change_values,
)
from watcher.cli.output import write_json_values
from watcher.storage.engine import ensure_schema

ROWS_PER_S = 100_000
WATCHER = Path(sys.executable).parent / "watcher"


class _Sink:
    """A text file that keeps nothing: the cost measured is the writer's, not the disk's."""

    def write(self, text: str) -> int:
        return len(text)


def filters(snapshots: int) -> list[tuple[str, ChangeFilter, list[str]]]:
    """(what, the filter, the same as command-line options)."""
    middle = START + (END - START) / snapshots * (snapshots // 2) + timedelta(minutes=1)
    month = (middle, middle + timedelta(days=30))
    when = [m.strftime("%Y-%m-%dT%H:%M:%SZ") for m in month]
    return [
        ("--entity 'Azure Functions'", ChangeFilter(entity="Azure Functions"),
         ["--entity", "Azure Functions"]),
        ("--entity 'Azure Kubernetes*' (a glob)", ChangeFilter(entity="Azure Kubernetes*"),
         ["--entity", "Azure Kubernetes*"]),
        ("--column usgov", ChangeFilter(column="usgov"), ["--column", "usgov"]),
        ("--kind entity_added", ChangeFilter(kind="entity_added"), ["--kind", "entity_added"]),
        ("--since <middle> --until +30 days", ChangeFilter(since=month[0], until=month[1]),
         ["--since", when[0], "--until", when[1]]),
    ]  # fmt: skip


def timed(engine: Any, runs: int, query: Callable[[Session], int]) -> tuple[float, int]:
    """The median seconds of ``query`` in a fresh session after two warm-ups, and its size."""
    times, size = [], 0
    for n in range(runs + 2):
        with Session(engine) as session:
            start = time.perf_counter()
            size = query(session)
            elapsed = time.perf_counter() - start
        if n >= 2:
            times.append(elapsed)
    return statistics.median(times), size


def line(name: str, figure: str, target: str, ok: bool) -> bool:
    print(f"  {name:<52} {figure:>22}  ({target}) {'PASS' if ok else 'MISS'}")
    return ok


def run_level(engine: Any, runs: int, snapshots: int) -> bool:
    ok = True
    print(" the query (iter_change_values):")
    for name, f, _ in filters(snapshots):
        seconds, size = timed(engine, runs, lambda s, f=f: sum(1 for _ in iter_change_values(s, f)))
        ms = seconds * 1000
        ok &= line(name, f"{ms:.1f} ms [{size:,}]", f"≤ {TARGET_MS:g} ms", ms <= TARGET_MS)

    seconds, size = timed(engine, runs, lambda s: _stream(s))
    rate = size / seconds
    ok &= line("whole log streamed as JSON", f"{rate:,.0f} rows/s [{size:,}]",
               f"≥ {ROWS_PER_S:,}/s", rate >= ROWS_PER_S)  # fmt: skip
    return ok


def _stream(session: Session) -> int:
    """The whole log written as JSON as ``watcher changes --format json`` writes it."""
    count = 0

    def counted() -> Any:
        nonlocal count
        for row in iter_change_values(session):
            count += 1
            yield row

    write_json_values(counted(), CHANGE_FIELDS, _Sink(), arrays=CHANGE_ARRAYS)  # type: ignore[arg-type]
    return count


def command_level(url: str, runs: int, snapshots: int, rows: int) -> bool:
    ok = True
    print(" the command (a fresh process, output to /dev/null; wall and CPU medians):")

    def run(*args: str) -> tuple[float, float, float]:
        found = [measure([str(WATCHER), "--db", url, "changes", *args], Path.cwd())
                 for _ in range(runs)]  # fmt: skip
        wall = statistics.median(r.seconds for r in found)
        cpu = statistics.median(r.cpu_seconds for r in found)
        return wall, cpu, max(r.peak_mib for r in found)

    for name, _, args in filters(snapshots):
        seconds, cpu, peak = run(*args, "--format", "json")
        print(f"  changes {name:<44} {seconds * 1000:>9.0f} ms, CPU {cpu * 1000:4.0f} ms, "
              f"{peak:5.1f} MiB")  # fmt: skip
    page, page_cpu, page_peak = run("--limit", "1", "--format", "json")
    for fmt in ("json", "csv"):
        seconds, cpu, peak = run("--format", fmt)
        rate = rows / max(seconds - page, 1e-9)
        cpu_rate = rows / max(cpu - page_cpu, 1e-9)
        print(f"  changes --format {fmt} (whole log) {seconds * 1000:>22.0f} ms, "
              f"CPU {cpu * 1000:4.0f} ms, {peak:5.1f} MiB")  # fmt: skip
        ok &= line(f"  its streaming rate ({fmt}; CPU: {cpu_rate:,.0f}/s)", f"{rate:,.0f} rows/s",
                   f"≥ {ROWS_PER_S:,}/s", rate >= ROWS_PER_S)  # fmt: skip
    print(f"  (a one-row page: {page * 1000:.0f} ms, CPU {page_cpu * 1000:.0f} ms, "
          f"{page_peak:.1f} MiB)")  # fmt: skip
    return ok


def on_terminal(argv: list[str]) -> float:
    """The wall seconds of a command whose output is a terminal (a pseudo-terminal 200
    columns wide, read to its end), as a person at a terminal runs it."""
    import fcntl
    import pty
    import struct
    import termios

    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout is the terminal
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    while True:
        try:
            if not os.read(fd, 65536):
                break
        except OSError:  # EIO: the child closed the terminal
            break
    os.close(fd)
    os.waitpid(pid, 0)
    return time.perf_counter() - start


def terminal_level(url: str, runs: int) -> bool:
    print(" listings on a terminal (a fresh process, the newest 50 rows):")
    ok = True
    for command in ("snapshots", "changes"):
        seconds = statistics.median(
            on_terminal([str(WATCHER), "--db", url, command]) for _ in range(runs)
        )
        ok &= line(f"watcher {command}", f"{seconds * 1000:.0f} ms", "≤ 1,000 ms", seconds <= 1)
    return ok


def piped_level(url: str, runs: int) -> bool:
    print(" listings piped (a fresh process, every row as plain rows, output to /dev/null):")
    ok = True
    for command in ("snapshots", "changes"):
        found = [measure([str(WATCHER), "--db", url, command], Path.cwd()) for _ in range(runs)]
        seconds = statistics.median(r.seconds for r in found)
        peak = max(r.peak_mib for r in found)
        ok &= line(f"watcher {command} | … ({peak:.1f} MiB)", f"{seconds * 1000:.0f} ms",
                   "≤ 1,000 ms", seconds <= 1)  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_options(parser, runs=9)
    args = parser.parse_args()
    targets = database_targets(args)
    ok = True
    for label, url in targets:
        if url is None:
            print(f"\n{label}: skipped: set WATCHER_BENCH_POSTGRES_URL to a scratch database")
            continue
        engine, _ = prepare(url, args.snapshots, args.seed, rebuild=False)
        ensure_schema(engine)  # a database built before this schema gets its indexes
        with Session(engine) as session:
            rows = sum(1 for _ in iter_change_values(session))
        print(f"\n{label} ({args.snapshots:,} snapshots, {rows:,} changes, source {SOURCE}):")
        ok &= run_level(engine, args.runs, args.snapshots)
        ok &= command_level(url, max(3, args.runs // 3), args.snapshots, rows)
        ok &= terminal_level(url, max(3, args.runs // 3))
        ok &= piped_level(url, max(3, args.runs // 3))
        engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
