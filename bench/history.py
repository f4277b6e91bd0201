"""Benchmark: the audit queries (state, history, export, snapshots, show) on a synthetic
history of 10,000 snapshots, on SQLite and PostgreSQL, each against a median of ≤ 50 ms.

    .venv/bin/python bench/history.py [--snapshots N] [--runs N] [--rebuild] [--only DB]

The history is derived from the real pages bundled in watcher/corpus: the three versions of
the 2019-2021 matrix page follow each other, and between them every snapshot changes one to
three statuses of the one before (a promotion or a regression, as the page has them), so
10,000 snapshots hold about 2.9 million records and 20,000 changes. Each snapshot has a
page-sized body of its own, as real ones do, and nearly every one a record set of its own (a
flip makes it differ from the one before), so hardly a body or set is shared: the worst
case for storage. Where the page version changes, the changes are the real diff's. The
database is written directly through the models with Core executemany in big batches (it
is a fixture, not the pipeline) and kept for the next run: a second run only measures.
``--rebuild`` builds it again.

SQLite: a file in the temporary directory (``--sqlite PATH`` to choose). PostgreSQL: the URL
in WATCHER_BENCH_POSTGRES_URL, else WATCHER_TEST_POSTGRES_URL; skipped, with the reason
printed, when neither is set. THE POSTGRESQL DATABASE IS EMPTIED (its public schema dropped)
when the benchmark (re)builds it: give it a scratch database.

Each query is timed through the function the command calls (watcher.audit), in a fresh
session, after two warm-up calls; the median is printed beside the target with PASS or
MISS. Exits 1 when any query misses.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from watcher.audit.changes import ChangeFilter
from watcher.audit.export import export_rows
from watcher.audit.history import history_rows
from watcher.audit.snapshots import snapshot_body, snapshot_rows
from watcher.audit.state import state_rows
from watcher.cli.demo import bundled_versions
from watcher.domain.describe import STATUS_LABEL
from watcher.domain.diff import diff
from watcher.domain.document import STATUS_RANK, Document, Record, Status
from watcher.parse import PARSER_VERSION, parse
from watcher.parse.vocabulary import normalize
from watcher.storage import bodies, records
from watcher.storage.engine import ensure_schema, make_engine
from watcher.storage.models import Body, ChangeRow, RecordKey, RecordSet, Snapshot, Source

TARGET_MS = 50.0
SOURCE = "bench-synthetic"
FORMAT_VERSION = 2  # bump when the synthetic history changes, so stale databases are rebuilt
START = datetime(2018, 1, 1, tzinfo=UTC)
END = datetime(2025, 6, 1, tzinfo=UTC)
BATCH = 200  # snapshots per batch (about 60,000 records)
# The ranked statuses, written on a synthetic page as their labels (in this order: the
# generator's random choices depend on it).
LABEL = {s: STATUS_LABEL[s] for s in ("available", "preview", "not_available")}


# --- building the synthetic history -------------------------------------------------------


def _marker(snapshots: int, seed: int) -> str:
    return f"bench:synthetic?snapshots={snapshots}&seed={seed}&v={FORMAT_VERSION}"


def _change_row(c: Any, position: int) -> dict[str, Any]:
    return {
        "source_id": 1,
        "position": position,
        "kind": c.kind,
        "severity": c.severity,
        "section": c.section,
        "entity": c.entity,
        "entity_key": normalize(c.entity),
        "old_entity": c.old_entity,
        "old_section": c.old_section,
        "row": c.row,
        "column": c.column,
        "row_label": c.row_label,
        "column_label": c.column_label,
        "old_raw": c.old_raw,
        "new_raw": c.new_raw,
        "old_status": c.old_status,
        "new_status": c.new_status,
    }


@dataclass
class _Flip:
    kind: str
    severity: str
    section: str
    entity: str
    row: str
    column: str
    row_label: str
    column_label: str
    old_raw: str
    new_raw: str
    old_status: str
    new_status: str
    old_entity: None = None
    old_section: None = None


def build(engine: Engine, snapshots: int, seed: int) -> None:
    rng = random.Random(seed)
    pages = [body for _, body in bundled_versions()[:3]]  # the matrix page's three versions
    docs = [parse(body, "markdown") for body in pages]
    step = (END - START) / snapshots
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(
            insert(Source),
            [{"id": 1, "name": SOURCE, "url": _marker(snapshots, seed), "format": "markdown"}],
        )
        current: list[Record] = []
        snaps: list[dict[str, Any]] = []
        stored: dict[str, list[dict[str, Any]]] = {"bodies": [], "sets": [], "keys": []}
        set_ids: dict[str, int] = {}
        changes: list[dict[str, Any]] = []
        era = -1
        for i in range(snapshots):
            sid, at = i + 1, START + step * i
            new_era = i * len(docs) // snapshots
            found: list[Any]
            if new_era != era:
                previous = current
                era, current = new_era, list(docs[new_era].records)
                found = diff(Document(tuple(previous)), docs[era]) if previous else []
            else:
                found = []
                status_cells = [k for k, r in enumerate(current) if r.status in LABEL]
                for k in rng.sample(status_cells, rng.randint(1, 3)):
                    old = current[k]
                    assert old.status is not None
                    status = rng.choice([s for s in LABEL if s != old.status])
                    new = replace(old, raw=LABEL[status], status=cast(Status, status))
                    current[k] = new
                    promoted = STATUS_RANK[status] > STATUS_RANK[old.status]
                    found.append(
                        _Flip(
                            "status_changed",
                            "notice" if promoted else "warning",
                            old.section,
                            old.entity,
                            old.row_key,
                            old.column_key,
                            old.row,
                            old.column,
                            old.raw,
                            new.raw,
                            old.status,
                            status,
                        )
                    )
            body = pages[era] + f"\n<!-- synthetic snapshot {sid} -->\n".encode()
            sha = hashlib.sha256(body).hexdigest()
            packed = bodies.compress(body)
            stored["bodies"].append({"sha256": sha, "size": len(body), "data": packed})
            encoded = records.encode(current)
            set_sha = hashlib.sha256(encoded).hexdigest()
            if set_sha not in set_ids:  # flips back to a set seen before share it
                set_id = set_ids[set_sha] = len(set_ids) + 1
                data = bodies.compress(encoded)
                stored["sets"].append(
                    {"id": set_id, "sha256": set_sha, "count": len(current), "data": data}
                )
                keys = sorted({r.entity_key for r in current})
                stored["keys"].extend({"entity_key": k, "set_id": set_id} for k in keys)
            snaps.append(
                {
                    "id": sid,
                    "source_id": 1,
                    "taken_at": at,
                    "created_at": at,
                    "sha256": sha,
                    "records_id": set_ids[set_sha],
                    "url": "https://example.invalid/managed-identities-status.md",
                    "content_type": "text/plain; charset=utf-8",
                    "etag": None,
                    "last_modified": None,
                    "parser_version": PARSER_VERSION,
                    "format": "markdown",
                    "title": docs[era].title,
                    "doc_date": at.date().isoformat(),
                    "origin": "fetch",
                    "origin_ref": None,
                    "state": "accepted",
                    "confirmations": 0,
                    "reason": None,
                    "record_count": len(current),
                    "warnings": [],
                }
            )
            for position, c in enumerate(found):
                row = _change_row(c, position)
                row.update(from_snapshot_id=sid - 1, to_snapshot_id=sid, detected_at=at)
                changes.append(row)
            if len(snaps) == BATCH or i == snapshots - 1:
                _flush(conn, snaps, stored, changes)
                print(f"\r  built {i + 1:,} of {snapshots:,} snapshots", end="", flush=True)
        print()
        if conn.dialect.name == "postgresql":
            # Explicit ids leave the sequence behind; later inserts would collide.
            conn.execute(text("SELECT setval('snapshots_id_seq', (SELECT max(id) FROM snapshots))"))
            conn.execute(text("SELECT setval('sources_id_seq', 1)"))
            conn.execute(
                text("SELECT setval('record_sets_id_seq', (SELECT max(id) FROM record_sets))")
            )


def _flush(
    conn: Connection,
    snaps: list[dict[str, Any]],
    stored: dict[str, list[dict[str, Any]]],
    changes: list[dict[str, Any]],
) -> None:
    conn.execute(insert(Body), stored["bodies"])
    if stored["sets"]:
        conn.execute(insert(RecordSet), stored["sets"])
        conn.execute(insert(RecordKey), stored["keys"])
    conn.execute(insert(Snapshot), snaps)
    if changes:
        conn.execute(insert(ChangeRow), changes)
    for rows in (snaps, changes, *stored.values()):
        rows.clear()


def prepare(url: str, snapshots: int, seed: int, rebuild: bool) -> tuple[Engine, float]:
    """The engine of a database holding the synthetic history; the seconds spent building."""
    engine = make_engine(url)
    if not rebuild and _is_built(engine, snapshots, seed):
        return engine, 0.0
    start = time.perf_counter()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        engine.dispose()
        database = engine.url.database
        if database:
            for suffix in ("", "-wal", "-shm"):
                Path(database + suffix).unlink(missing_ok=True)
        engine = make_engine(url)
    ensure_schema(engine)
    builder = make_engine(url)
    if builder.dialect.name == "sqlite":
        event.listen(builder, "connect", _sqlite_for_loading)
    build(builder, snapshots, seed)
    builder.dispose()
    if engine.dialect.name == "postgresql":
        # What autovacuum does after a bulk load: planner statistics, visibility map.
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    return engine, time.perf_counter() - start


def _sqlite_for_loading(dbapi_conn: Any, _record: Any) -> None:
    # A fixture, not data to keep safe: no fsync, and room for the indexes in memory.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    cur.execute("PRAGMA cache_size=-262144")
    cur.close()


def _is_built(engine: Engine, snapshots: int, seed: int) -> bool:
    try:
        with Session(engine) as session:
            url = session.scalar(select(Source.url).where(Source.name == SOURCE))
            count = session.scalar(select(func.count()).select_from(Snapshot))
    except Exception:  # noqa: BLE001 - no schema yet, or another database: build it
        return False
    return url == _marker(snapshots, seed) and count == snapshots


# --- measuring --------------------------------------------------------------------------


def queries(engine: Engine, snapshots: int) -> list[tuple[str, Callable[[Session], Any]]]:
    step = (END - START) / snapshots
    middle = START + step * (snapshots // 2) + timedelta(minutes=1)
    month = ChangeFilter(source=SOURCE, since=middle, until=middle + timedelta(days=30))
    return [
        ("state --at <middle of history>", lambda s: state_rows(s, SOURCE, middle)),
        ("state (now)", lambda s: state_rows(s, SOURCE, None)),
        ("history 'Azure Functions'", lambda s: history_rows(s, "Azure Functions", source=SOURCE)),
        (
            "history 'Azure Functions' --row user_assigned --column usgov",
            lambda s: history_rows(
                s, "Azure Functions", source=SOURCE, row="user_assigned", column="usgov"
            ),
        ),
        (
            "history 'Azure Kubernetes*' (a glob)",
            lambda s: history_rows(s, "Azure Kubernetes*", source=SOURCE),
        ),
        ("export --since <middle> --until +30 days", lambda s: export_rows(s, month)),
        (f"snapshots ({snapshots:,} rows)", lambda s: snapshot_rows(s, SOURCE)),
        ("show <id>", lambda s: snapshot_body(s, snapshots // 2)),
    ]


def measure(engine: Engine, runs: int, snapshots: int) -> list[tuple[str, float, int]]:
    results = []
    for name, query in queries(engine, snapshots):
        times = []
        size = 0
        for n in range(runs + 2):
            with Session(engine) as session:
                start = time.perf_counter()
                out = query(session)
                elapsed = time.perf_counter() - start
            if n >= 2:  # two warm-up calls: compiled statement cache, database page cache
                times.append(elapsed)
            size = len(out) if out is not None else 0
        results.append((name, statistics.median(times) * 1000, size))
    return results


def report(label: str, results: list[tuple[str, float, int]], unit: str = "") -> bool:
    """Each result's median beside the target; True when all pass (also bench/web.py's and
    bench/changes.py's report: ``unit`` names what the size counts)."""
    ok = True
    print(f"\n{label}")
    for name, median, size in results:
        passed = median <= TARGET_MS
        ok &= passed
        verdict = "PASS" if passed else "MISS"
        size_text = f"{size:,}{' ' + unit if unit else ''}"
        print(f"  {name:<62} {median:7.1f} ms  (≤ {TARGET_MS:g} ms) {verdict}  [{size_text}]")
    return ok


def database_options(parser: argparse.ArgumentParser, runs: int) -> None:
    """The options every benchmark on this history takes (bench/web.py, bench/changes.py)."""
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument(
        "--sqlite",
        type=Path,
        default=Path(tempfile.gettempdir()) / "watcher-bench-history.db",
        help="SQLite database file (kept between runs).",
    )


def database_targets(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(label, URL) of the databases asked for; the URL is None when PostgreSQL has none."""
    targets: list[tuple[str, str | None]] = []
    if args.only != "postgres":
        targets.append(("SQLite", f"sqlite:///{args.sqlite}"))
    if args.only != "sqlite":
        pg = os.environ.get("WATCHER_BENCH_POSTGRES_URL") or os.environ.get(
            "WATCHER_TEST_POSTGRES_URL"
        )
        targets.append(("PostgreSQL", pg))
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_options(parser, runs=15)
    parser.add_argument("--rebuild", action="store_true", help="Build the databases again.")
    args = parser.parse_args()
    targets = database_targets(args)
    ok = True
    for label, url in targets:
        if url is None:
            print(
                f"\n{label}: skipped: set WATCHER_BENCH_POSTGRES_URL (or "
                "WATCHER_TEST_POSTGRES_URL) to a scratch database to run it"
            )
            continue
        engine, built = prepare(url, args.snapshots, args.seed, args.rebuild)
        with Session(engine) as session:
            counts = [
                session.scalar(select(func.count()).select_from(Snapshot)),
                session.scalar(select(func.sum(Snapshot.record_count))),
                session.scalar(select(func.count()).select_from(ChangeRow)),
            ]
        how = f"built in {built:.0f} s" if built else "reused"
        what = f"{counts[0]:,} snapshots, {counts[1]:,} records, {counts[2]:,} changes"
        ok &= report(f"{label} ({what}; {how}):", measure(engine, args.runs, args.snapshots))
        engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
