"""Benchmark: every page, API call and feed of the web view on the 10,000-snapshot history of
bench/history.py, on SQLite and PostgreSQL, each against a median server time of ≤ 50 ms.

    .venv/bin/python bench/web.py [--snapshots N] [--runs N] [--rebuild] [--only DB]

The database is bench/history.py's (built by it, and kept: ``--rebuild`` builds it again;
THE POSTGRESQL DATABASE IS EMPTIED when it is built, as there). Server time is the time the
ASGI app takes from receiving a request to sending the last byte of its answer, measured by
a wrapper around the app (watcher.web.app.create_app, as ``watcher serve`` runs it) and driven
in-process by Starlette's test client, after two warm-up requests. Exits 1 when any misses.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

from history import END, SOURCE, START, database_options, database_targets, prepare, report
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from watcher.config import Config
from watcher.storage.engine import session_factory
from watcher.storage.models import ChangeRow, Snapshot
from watcher.web.app import create_app


class Timed:
    """The app, timing each request from its start to the end of its answer."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        start = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - start


def paths(engine: Any, snapshots: int) -> list[str]:
    step = (END - START) / snapshots
    middle = (START + step * (snapshots // 2)).date().isoformat()
    with Session(engine) as session:
        mid = session.scalar(select(Snapshot.id).order_by(Snapshot.id).offset(snapshots // 2))
        change = session.scalar(
            select(ChangeRow.id)
            .order_by(ChangeRow.id)
            .offset(session.scalar(select(func.count()).select_from(ChangeRow)) // 2)
        )
    f = "Azure%20Functions"
    return [
        "/",
        f"/?at={middle}",
        f"/history?source={SOURCE}&entity={f}",
        f"/history?source={SOURCE}&entity={f}&row=user_assigned&column=usgov",
        "/changes",
        f"/changes?column=usgov&after={change}",
        f"/diff?old={mid}&new={mid + 1}",
        "/snapshots",
        f"/snapshots?after={mid}",
        f"/snapshots/{mid}",
        f"/snapshots/{mid}/raw",
        "/status",
        "/api/v1/changes",
        f"/api/v1/changes?after={change}&kind=status_changed",
        "/api/v1/state",
        f"/api/v1/state?at={middle}",
        f"/api/v1/history?entity={f}",
        "/api/v1/snapshots",
        "/api/v1/status",
        f"/api/v1/diff?old={mid}&new={mid + 1}",
        "/api/v1/openapi.json",
        "/feeds/changes.atom",
        "/feeds/changes.atom?column=usgov",
    ]


def measure(engine: Any, runs: int, snapshots: int) -> list[tuple[str, float, int]]:
    timed = Timed(create_app(session_factory(engine), Config()))
    client = TestClient(timed)
    results = []
    for path in paths(engine, snapshots):
        times = []
        size = 0
        for n in range(runs + 2):
            r = client.get(path)
            if r.status_code != 200:
                raise SystemExit(f"{path}: {r.status_code} {r.text[:200]}")
            if n >= 2:
                times.append(timed.last)
            size = len(r.content)
        results.append((path, statistics.median(times) * 1000, size))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_options(parser, runs=15)
    parser.add_argument("--rebuild", action="store_true", help="Build the databases again.")
    args = parser.parse_args()
    targets = database_targets(args)
    ok = True
    for label, url in targets:
        if url is None:
            print(f"\n{label}: skipped: set WATCHER_BENCH_POSTGRES_URL to a scratch database")
            continue
        engine, built = prepare(url, args.snapshots, args.seed, args.rebuild)
        how = f"built in {built:.0f} s" if built else "reused"
        ok &= report(
            f"{label} ({args.snapshots:,} snapshots; {how}):",
            measure(engine, args.runs, args.snapshots),
            unit="B",
        )
        engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
