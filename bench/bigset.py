"""Benchmark: `watcher dispatch` of one 20,000-change set into SQLite, against ≤ 10 s, and the
longest the database's write lock is held meanwhile, against ≤ 1 s.

    .venv/bin/python bench/bigset.py [--changes N]

The change set is a mass addition: entities added (changes whose message lists each
entity's cells, read from the snapshot's records), stored with the guard's second look
turned off. It is sent to a local Slack-like server answering ``ok``; the
message is the summarized one a change set this big always becomes. While the command runs,
a second connection tries a write every few milliseconds with no busy timeout (what another
`watcher check` or `import` would meet): the longest stretch in which every try found the
database locked is the write-lock figure. Before issue 16 (item 6) the records of each added
or removed entity were read in a query of their own, and all of it was rendered inside the
claim's write transaction: 20,000 changes held the lock for about 90 s.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from common import BIN, verdict

from watcher.config import RouteConfig
from watcher.domain.document import Document, Record
from watcher.domain.guard import GuardPolicy
from watcher.ingest.pipeline import Page, ingest
from watcher.parse.vocabulary import normalize
from watcher.storage.engine import ensure_schema, make_engine, session_factory
from watcher.storage.store import get_or_create_source

TARGET_SECONDS = 10.0
TARGET_LOCK = 1.0
ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[[sources]]
name = "bench"
url = "https://example.com/page.md"
format = "markdown"

[[routes]]
name = "team"
channel = "slack"
webhook_url_env = "BENCH_SLACK_URL"
min_severity = "info"
timeout = 30
"""


def _records(names: list[str]) -> list[Record]:
    """Two cells per entity, as the managed-identities page has (system and user assigned)."""
    out = []
    for name in names:
        for row in ("System assigned", "User assigned"):
            out.append(
                Record(
                    section="Services",
                    entity=name,
                    row=row,
                    column="Azure Global",
                    raw="Available",
                    status="available",
                    section_key="services",
                    entity_key=normalize(name),
                    row_key=normalize(row),
                    column_key="azure global",
                )
            )
    return out


def seed(url: str, changes: int) -> None:
    """Two snapshots whose change set adds ``changes`` entities (a mass addition)."""
    engine = make_engine(url)
    ensure_schema(engine)
    sessions = session_factory(engine)
    kept = [f"Azure Kept {i}" for i in range(10)]
    new = [f"Azure New {i}" for i in range(changes)]
    route = RouteConfig.model_validate(
        {"name": "team", "channel": "slack", "webhook_url_env": "X", "min_severity": "info"}
    )
    # The bench measures the dispatch, not the guard: let the whole change through at once.
    guard = GuardPolicy(second_look_added=10**9)
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    for i, names in enumerate((kept, kept + new)):
        with sessions.begin() as session:
            source = get_or_create_source(
                session, "bench", "https://example.com/page.md", "markdown"
            )
            page = Page(body=f"v{i}".encode(), taken_at=t0 + timedelta(days=i), origin="import")
            doc = Document(records=tuple(_records(names)), title="Bench page", tables=1)
            ingest(session, source, page, document=doc, routes=[route], guard=guard)
    engine.dispose()


class LockProbe:
    """Tries a write every few ms with no busy timeout; the longest run of locked tries."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.longest = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        locked_since: float | None = None
        while not self._stop.is_set():
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                if locked_since is not None:
                    self.longest = max(self.longest, time.perf_counter() - locked_since)
                locked_since = None
            except sqlite3.OperationalError:
                self.failures += 1
                locked_since = locked_since or time.perf_counter()
            time.sleep(0.005)
        if locked_since is not None:
            self.longest = max(self.longest, time.perf_counter() - locked_since)
        conn.close()

    def __enter__(self) -> LockProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def slack_server() -> tuple[ThreadingHTTPServer, list[int]]:
    posts: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posts.append(len(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, posts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20_000)
    args = parser.parse_args()
    server, posts = slack_server()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"{tmp}/bench.db"
        seed(f"sqlite:///{db}", args.changes)
        (Path(tmp) / "watcher.toml").write_text(CONFIG, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
        env.update(
            WATCHER_DATABASE_URL=f"sqlite:///{db}",
            WATCHER_CONFIG=f"{tmp}/watcher.toml",
            BENCH_SLACK_URL=f"http://127.0.0.1:{server.server_address[1]}/services/T/B/X",
        )
        with LockProbe(db) as probe:
            started = time.perf_counter()
            done = subprocess.run(
                [str(BIN / "watcher"), "dispatch"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            elapsed = time.perf_counter() - started
    server.shutdown()
    if done.returncode != 0 or not posts:
        print(f"watcher dispatch exited {done.returncode}:\n{done.stdout}{done.stderr}")
        return 1
    ok_time, ok_lock = elapsed <= TARGET_SECONDS, probe.longest <= TARGET_LOCK
    print(
        f"dispatch of {args.changes:,} changes: {elapsed:.1f} s "
        f"(target ≤ {TARGET_SECONDS:g} s) {verdict(ok_time)}"
    )
    print(
        f"longest write lock meanwhile: {probe.longest:.2f} s "
        f"(target ≤ {TARGET_LOCK:g} s) {verdict(ok_lock)}"
    )
    return 0 if ok_time and ok_lock else 1


if __name__ == "__main__":
    sys.exit(main())
