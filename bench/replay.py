"""Benchmark: replaying 1,000 versions of the page with `watcher import`, against ≥ 150
versions/s into SQLite and ≥ 100/s into PostgreSQL.

    .venv/bin/python bench/replay.py [--versions N] [--runs N]

The versions are synthetic, derived from the real 2021-11-09 page: each one flips a few
status cells ("Not available" → "Preview" → "Available" and back) so every version is a new
snapshot with a handful of changes, as a real history is. They are written to files and
imported as a user replays a history: the installed console script in a fresh process,
`watcher import FILE… --source bench` into an empty database, each file through the whole
ingest path (parse, guard, diff, snapshot + records + changes in one transaction of its own).
The figure is the versions over the command's wall time, start-up included (the median of
--runs runs, a fresh database each). PostgreSQL uses WATCHER_BENCH_POSTGRES_URL or
WATCHER_TEST_POSTGRES_URL (its public schema is dropped and recreated before each run);
without either, that half is skipped with the reason printed. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from common import measure, postgres_url, versions
from sqlalchemy import text

from watcher.storage.engine import make_engine

WATCHER = Path(sys.executable).parent / "watcher"  # the installed console script

TARGETS = {"SQLite": 150.0, "PostgreSQL": 100.0}  # versions per second


def replay(
    url: str, files: list[Path], cwd: Path, reset: Callable[[], None]
) -> tuple[float, float]:
    """One `watcher import` of every file into an empty database: (versions/s, CPU s)."""
    reset()
    run = measure([str(WATCHER), "--db", url, "import", *map(str, files), "--source", "bench"], cwd)
    return len(files) / run.seconds, run.cpu_seconds


def report(name: str, found: list[tuple[float, float]], count: int) -> bool:
    rate = statistics.median(r for r, _ in found)
    cpu = statistics.median(c for _, c in found)
    target = TARGETS[name]
    ok = rate >= target
    print(
        f"replay of {count:,} versions into {name}: {rate:.0f} versions/s "
        f"(CPU {cpu / count * 1000:.1f} ms a version; runs: "
        f"{', '.join(f'{r:.0f}' for r, _ in found)}) (target ≥ {target:g}/s) "
        f"{'PASS' if ok else 'MISS'}"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = []
        for i, body in enumerate(versions(args.versions)):
            path = folder / f"v{i:05d}.md"
            path.write_bytes(body)
            files.append(path)
        db = folder / "bench.db"

        def fresh_sqlite() -> None:
            for leftover in folder.glob("bench.db*"):
                leftover.unlink()

        found = [replay(f"sqlite:///{db}", files, folder, fresh_sqlite) for _ in range(args.runs)]
        results.append(report("SQLite", found, len(files)))
        pg = postgres_url()
        if pg:

            def fresh_postgres() -> None:
                engine = make_engine(pg)
                with engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
                engine.dispose()

            found = [replay(pg, files, folder, fresh_postgres) for _ in range(args.runs)]
            results.append(report("PostgreSQL", found, len(files)))
        else:
            print("replay into PostgreSQL: skipped (set WATCHER_BENCH_POSTGRES_URL)")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
