"""Benchmark: what the real page history takes on disk per snapshot in SQLite, against ≤ 25 KiB.

    .venv/bin/python bench/storage.py [--keep DIR]

The history is the real one bundled in watcher/corpus: the six English and status-page
versions imported oldest first, then ten flips between the last two (a stale CDN node
serving the 2023 page every other day: each flip is a snapshot of its own), each through
the installed `watcher import` in a fresh process, as a user runs it. The database file is
measured after a WAL checkpoint and VACUUM (free pages would count otherwise), three ways:
as stored; downgraded to migration 0010 (the layout before bodies and record sets: a body
and a row per record in every snapshot, which the downgrade writes byte for byte as that
code did); and upgraded again in place by migration 0011. Also printed: how many bodies
and record sets the flips added (target: none), and what the file holds, table by table.
Exits 1 when the size misses.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from watcher.storage.engine import make_engine
from watcher.storage.migrations.runner import alembic_config

TARGET_KIB = 25.0
CORPUS = Path(__file__).resolve().parents[1] / "watcher" / "corpus"
WATCHER = Path(sys.executable).with_name("watcher")
FLIPS = 10


def versions() -> list[Path]:
    return sorted((CORPUS / "en").glob("*.md")) + sorted((CORPUS / "status-page").glob("*.md"))


def watcher(db: Path, *args: str) -> None:
    subprocess.run(
        [str(WATCHER), "--db", f"sqlite:///{db}", *args], check=True, capture_output=True
    )


def counts(db: Path) -> tuple[int, int, int]:
    """(snapshots, bodies, record sets)."""
    with sqlite3.connect(db) as conn:
        found = [
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("snapshots", "bodies", "record_sets")
        ]
    return found[0], found[1], found[2]


def vacuumed_size(db: Path) -> int:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("VACUUM")
    conn.close()
    return db.stat().st_size


def tables(db: Path) -> list[tuple[str, float]]:
    """KiB per table and index, largest first (SQLite's dbstat table)."""
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute(
                "SELECT name, sum(pgsize) / 1024.0 FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
        except sqlite3.OperationalError:  # a SQLite built without dbstat
            return []
    return [(str(name), float(kib)) for name, kib in rows]


def migrate(db: Path, revision: str, *, down: bool = False) -> None:
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(alembic_config(conn), revision)
    engine.dispose()


def build(db: Path) -> tuple[int, int]:
    """The history stored; (bodies, record sets) the flips added."""
    pages = versions()
    watcher(db, "import", "--source", "page", *map(str, pages))
    _, bodies, sets = counts(db)
    for i in range(FLIPS):
        page = pages[-2] if i % 2 == 0 else pages[-1]
        watcher(db, "import", "--source", "page", "--at", f"2025-06-{i + 1:02d}", str(page))
    _, bodies_after, sets_after = counts(db)
    return bodies_after - bodies, sets_after - sets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Keep the databases in this folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "storage.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        added_bodies, added_sets = build(db)
        snapshots, bodies, sets = counts(db)
        stored = vacuumed_size(db)
        breakdown = tables(db)
        old = folder / "storage-0010.db"
        shutil.copy(db, old)
        migrate(old, "0010", down=True)
        before = vacuumed_size(old)
        migrate(old, "head")
        migrated = vacuumed_size(old)

    def per(size: int) -> str:
        return f"{size:,} B = {size / 1024 / snapshots:.1f} KiB/snapshot"

    print(f"real history: {len(versions())} versions + {FLIPS} flips = {snapshots} snapshots")
    print(f"  stored: {bodies} bodies, {sets} record sets")
    print(f"  the {FLIPS} flips added {added_bodies} bodies, {added_sets} record sets (target 0)")
    print(f"  before (schema 0010, after VACUUM):     {per(before)}")
    print(f"  migrated in place by 0011 (VACUUM):     {per(migrated)}")
    print(f"  stored by watcher now (VACUUM):         {per(stored)}")
    ok = stored / 1024 / snapshots <= TARGET_KIB and added_bodies == added_sets == 0
    verdict = "PASS" if ok else "MISS"
    print(f"  target ≤ {TARGET_KIB:g} KiB/snapshot, no body or set added by a flip: {verdict}")
    if breakdown:
        print("  what the file holds (KiB):")
        for name, kib in breakdown:
            if kib >= 8:
                print(f"    {name:<58} {kib:6.0f}")
        small = [kib for _, kib in breakdown if kib < 8]
        print(f"    {len(small)} more tables and indexes of one page or two   {sum(small):6.0f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
