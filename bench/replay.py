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
import random
import re
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from watcher.db import ensure_schema, make_engine, session_factory
from watcher.pipeline import Page, ingest
from watcher.store import get_or_create_source

TARGET = 100.0  # versions per second
PAGE = "en/2021-11-09__MicrosoftDocs__03436ea.md"
CYCLE = {"Not available": "Preview", "Preview": "Available", "Available": "Not available"}
CELL = re.compile(r"(?<=\| )(Not available|Preview|Available)(?= \|)")


def corpus() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
    return Path(os.environ.get("WATCHER_CORPUS") or default)


def versions(n: int, seed: int = 7) -> list[bytes]:
    """n successive versions, each a few cells on from the one before."""
    page = (corpus() / PAGE).read_text(encoding="utf-8")
    spans = [m.span() for m in CELL.finditer(page)]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        for start, end in sorted(rng.sample(spans, 3), reverse=True):
            page = page[:start] + CYCLE[page[start:end]] + page[end:]
        spans = [m.span() for m in CELL.finditer(page)]
        out.append(page.encode())
    return out


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
