"""Benchmark 2: a cron `watcher check` beside a urlwatch run of the same page, interleaved.

    .venv/bin/python bench/cron.py [--runs N] [--case http|https|postgres|changed ...]

Both tools watch the same 29 KB page on the same local origin, which sends no validators, so
each run downloads and compares the whole page. Each tool stores its baseline first
(untimed); then N runs of each alternate, every run a fresh process of the installed console
script as cron starts it. The cases, all by default:

- ``http``: the page unchanged, over http, watcher on SQLite;
- ``https``: the same over https, the origin's certificate self-signed and trusted by both
  tools through the environment (``SSL_CERT_FILE`` for watcher's httpx,
  ``REQUESTS_CA_BUNDLE`` for urlwatch's requests);
- ``postgres``: the page unchanged over http, watcher on PostgreSQL
  (``WATCHER_BENCH_POSTGRES_URL``, else ``WATCHER_TEST_POSTGRES_URL``; its public schema is
  dropped; skipped without either);
- ``changed``: a new version of the page on every request (three status cells on from the
  last), watcher on SQLite: watcher stores it, diffs it and sends the change set to a stdout
  route; urlwatch prints its diff report.

Both tools use the same configuration in every case (watcher's with one stdout route). Prints
each case's medians, their ratio against its target and watcher's peak resident memory
(≤ 60 MiB for an unchanged page; a changed one's is shown); exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from common import (
    BIN,
    PAGE,
    Origin,
    Run,
    Urlwatch,
    certificate,
    corpus,
    measure,
    median,
    postgres_url,
    serve,
    verdict,
    versions,
)

TARGETS = {"http": 0.9, "https": 0.8, "postgres": 1.2, "changed": 2.0}
PEAK_TARGET_MIB = 60.0


@dataclass(frozen=True)
class Figures:
    case: str
    ours: list[Run]
    theirs: list[Run]

    @property
    def ratio(self) -> float:
        return self.wall / self.other

    @property
    def wall(self) -> float:
        return median([r.seconds for r in self.ours])

    @property
    def other(self) -> float:
        return median([r.seconds for r in self.theirs])

    @property
    def peak(self) -> float:
        return max(r.peak_mib for r in self.ours)

    @property
    def peak_target(self) -> float | None:
        """The memory target is the unchanged check's; a changed page is parsed and diffed."""
        return None if self.case == "changed" else PEAK_TARGET_MIB

    def ok(self) -> bool:
        target = self.peak_target
        return self.ratio <= TARGETS[self.case] and (target is None or self.peak <= target)


def reset_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


def one_case(case: str, runs: int, work: Path, db_url: str) -> Figures:
    page = (corpus() / PAGE).read_bytes()
    origin = Origin()
    origin.pages["/page.md"] = page
    if case == "changed":
        # Enough versions for every run of both tools and their baselines, each one new.
        origin.changing["/page.md"] = iter(versions(2 * runs + 8))
    tls = certificate(work) if case == "https" else None
    env = dict(os.environ)
    if tls is not None:
        env |= {"SSL_CERT_FILE": str(tls[0]), "REQUESTS_CA_BUNDLE": str(tls[0])}
    with serve(origin, tls):
        url = origin.page_url("/page.md")
        (work / "watcher.toml").write_text(
            f'[database]\nurl = "{db_url}"\n\n'
            f'[[sources]]\nname = "page"\nurl = "{url}"\nformat = "markdown"\n\n'
            '[[routes]]\nname = "console"\nchannel = "stdout"\nmin_severity = "info"\n'
        )
        watcher = [str(BIN / "watcher"), "--config", str(work / "watcher.toml"), "check"]
        measure(watcher, work, env)  # the baseline (and the config's first validation)
        urlwatch = Urlwatch(work / "urlwatch", url, env)
        ours, theirs = [], []
        for _ in range(runs):
            ours.append(measure(watcher, work, env))
            theirs.append(urlwatch.run())
    return Figures(case, ours, theirs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--case", action="append", choices=sorted(TARGETS))
    args = parser.parse_args()
    cases = args.case or list(TARGETS)
    figures: list[Figures] = []
    for case in cases:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            db_url = f"sqlite:///{work}/watcher.db"
            if case == "postgres":
                pg = postgres_url()
                if pg is None:
                    print("cron check on PostgreSQL: skipped (set WATCHER_BENCH_POSTGRES_URL)")
                    continue
                reset_postgres(pg)
                db_url = pg
            figures.append(one_case(case, args.runs, work, db_url))
    print(f"medians of {args.runs} interleaved runs each (uptime: {uptime()})")
    for f in figures:
        what = "changed page" if f.case == "changed" else f"unchanged page, {f.case}"
        print(
            f"cron check, {what}: watcher {f.wall * 1000:.0f} ms, urlwatch {f.other * 1000:.0f} ms"
            f" = {f.ratio:.2f}x (target ≤ {TARGETS[f.case]}x) "
            f"{verdict(f.ratio <= TARGETS[f.case])}"
        )
        their_peak = max(r.peak_mib for r in f.theirs)
        target = f.peak_target
        judged = (
            f"(target ≤ {target:g} MiB) {verdict(f.peak <= target)}"
            if target is not None
            else "(no target)"
        )
        print(f"  peak memory: watcher {f.peak:.1f} MiB {judged}, urlwatch {their_peak:.1f} MiB")
    return 0 if all(f.ok() for f in figures) else 1


def uptime() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return "load average " + ", ".join(f.read().split()[:3])


if __name__ == "__main__":
    sys.exit(main())
