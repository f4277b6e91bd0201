"""Benchmark 1: checks inside one warm daemon process, beside urlwatch runs, interleaved.

    .venv/bin/python bench/daemon.py [--checks N]

The daemon's own engine, HTTP client, metrics and dispatch job (``watcher.cli.daemon.Daemon``,
built as `watcher run --metrics-port` builds it, SQLite) check a page on a local origin N
times (default 1,000): nine checks in ten find the page unchanged, the tenth finds the next
version of it (a few status cells moved, as the real page moves: parsed, diffed, stored).
Every 40 checks a urlwatch run checks the same page on the same origin, and the dispatch job
runs. Prints the median cost per check beside urlwatch's median per run and the process's
resident memory every 250 checks. Targets: unchanged ≤ 0.05× urlwatch, changed ≤ 0.2×,
memory after N checks ≤ 80 MiB and not growing (≤ 2 MiB over the last half). Exit 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BIN, PAGE, Origin, Urlwatch, corpus, median, rss_mib, serve, verdict, versions

from watcher.cli.daemon import Daemon
from watcher.cli.metrics import Metrics
from watcher.config import resolve
from watcher.delivery.outbox import DispatchPolicy, dispatch
from watcher.ingest.check import check_source
from watcher.storage.engine import ensure_schema, make_engine, session_factory

UNCHANGED_TARGET = 0.05
CHANGED_TARGET = 0.2
RSS_TARGET_MIB = 80.0
GROWTH_TARGET_MIB = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=1000)
    args = parser.parse_args()
    page = (corpus() / PAGE).read_bytes()
    later = versions(args.checks // 10 + 1)
    origin = Origin()
    origin.pages["/page.md"] = page
    origin.pages["/urlwatch.md"] = page
    unchanged: list[float] = []
    changed: list[float] = []
    theirs: list[float] = []
    memory: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory() as tmp, serve(origin):
        work = Path(tmp)
        config = work / "watcher.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{work}/watcher.db"\n\n'
            f'[[sources]]\nname = "page"\nurl = "{origin.page_url("/page.md")}"\n'
            'format = "markdown"\n'
        )
        # Migrated by another process, as a deployment does before (re)starting the daemon:
        # a daemon on an up-to-date database never imports Alembic.
        subprocess.run(
            [str(BIN / "watcher"), "--config", str(config), "db", "upgrade"],
            check=True,
            capture_output=True,
        )
        settings = resolve(str(config), None)
        engine = make_engine(settings.database_url)
        if ensure_schema(engine):
            raise SystemExit("the database was not migrated before the daemon started")
        sessions = session_factory(engine)

        def deliver() -> None:
            dispatch(sessions, settings.config, policy=DispatchPolicy(linger=0))

        # Built as `watcher run --metrics-port` builds it: metrics kept, dispatch job loaded.
        daemon = Daemon(engine, lambda: settings, metrics=Metrics(), dispatch=deliver)
        metrics = daemon.metrics
        assert metrics is not None
        (cfg,) = settings.config.sources
        urlwatch = Urlwatch(work / "urlwatch", origin.page_url("/urlwatch.md"))

        def check(expect: str) -> float:
            start = time.perf_counter()
            outcome = check_source(daemon.engine, daemon.client, cfg, settings.config.routes)
            elapsed = time.perf_counter() - start
            metrics.observe(outcome, time.time())
            if outcome.result != expect:
                raise SystemExit(f"check was {outcome.result}, not {expect}: {outcome}")
            return elapsed

        check("baseline")
        for _ in range(20):  # warm: connections open, code paths loaded
            check("unchanged")
        for i in range(1, args.checks + 1):
            if i % 10 == 0:
                origin.pages["/page.md"] = later[i // 10]
                changed.append(check("changed"))
            else:
                unchanged.append(check("unchanged"))
            if i % 40 == 0:
                theirs.append(urlwatch.run().seconds)
                daemon.deliver()  # the daemon's dispatch job, every 30 s there
            if i % 250 == 0 or i == args.checks:
                memory.append((i, rss_mib()))
        daemon.client.close()
        engine.dispose()
    other = median(theirs)
    u, c = median(unchanged) / other, median(changed) / other
    final = memory[-1][1]
    half = [m for n, m in memory if n >= args.checks // 2]
    growth = final - half[0]
    print(f"warm daemon, {args.checks} checks; urlwatch {other * 1000:.0f} ms per run (median)")
    print(
        f"  unchanged page: {median(unchanged) * 1000:.1f} ms per check = {u:.3f}x urlwatch "
        f"(target ≤ {UNCHANGED_TARGET}x) {verdict(u <= UNCHANGED_TARGET)}"
    )
    print(
        f"  changed page: {median(changed) * 1000:.1f} ms per check = {c:.3f}x urlwatch "
        f"(target ≤ {CHANGED_TARGET}x) {verdict(c <= CHANGED_TARGET)}"
    )
    steps = ", ".join(f"{n}: {m:.1f}" for n, m in memory)
    ok_rss = final <= RSS_TARGET_MIB and growth <= GROWTH_TARGET_MIB
    print(
        f"  resident memory (MiB after N checks) {steps}; growth over the last half "
        f"{growth:+.1f} MiB (target ≤ {RSS_TARGET_MIB:g} MiB, ≤ {GROWTH_TARGET_MIB:g} MiB "
        f"growth) {verdict(ok_rss)}"
    )
    ok = u <= UNCHANGED_TARGET and c <= CHANGED_TARGET and ok_rss
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
