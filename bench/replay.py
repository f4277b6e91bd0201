"""Benchmark: replaying 1,000 versions of the page into SQLite and PostgreSQL, against ≥ 100/s.

    .venv/bin/python bench/replay.py [--versions N]

The versions are synthetic, derived from the real 2021-11-09 page: each one flips a few
status cells ("Not available" → "Preview" → "Available" and back) so every version is a new
snapshot with a handful of changes, as a real history is. Each goes through the whole ingest
path (parse, guard, diff, snapshot + records + changes in one transaction). PostgreSQL uses
WATCHER_BENCH_POSTGRES_URL or WATCHER_TEST_POSTGRES_URL (its public schema is dropped and
recreated); without either, that half is skipped with the reason printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from common import versions
from sqlalchemy import text

from watcher.ingest.pipeline import Page, ingest
from watcher.storage.engine import ensure_schema, make_engine, session_factory
from watcher.storage.store import get_or_create_source

TARGET = 100.0  # versions per second


def replay(url: str, bodies: list[bytes]) -> float:
    engine = make_engine(url)
    ensure_schema(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        source_id = get_or_create_source(session, "bench", "file:bench", "markdown").id
    start_at = datetime(2020, 1, 1, tzinfo=UTC)
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        with sessions.begin() as session:
            source = get_or_create_source(session, "bench", "file:bench", "markdown")
            assert source.id == source_id
            page = Page(body=body, taken_at=start_at + timedelta(hours=i), origin="import")
            ingest(session, source, page, fmt="markdown", notify=False)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(bodies) / elapsed


def report(name: str, rate: float) -> bool:
    ok = rate >= TARGET
    verdict = "PASS" if ok else "FAIL"
    print(f"replay into {name}: {rate:.0f} versions/s (target ≥ {TARGET:g}/s) {verdict}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    args = parser.parse_args()
    bodies = versions(args.versions)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results.append(report("SQLite", replay(f"sqlite:///{tmp}/bench.db", bodies)))
    pg = os.environ.get("WATCHER_BENCH_POSTGRES_URL") or os.environ.get("WATCHER_TEST_POSTGRES_URL")
    if pg:
        engine = make_engine(pg)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        results.append(report("PostgreSQL", replay(pg, bodies)))
    else:
        print("replay into PostgreSQL: skipped (set WATCHER_BENCH_POSTGRES_URL)")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
