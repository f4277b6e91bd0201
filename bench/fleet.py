"""Benchmark 7: 500 sources in one cycle against a local origin, with bounded concurrency.

    .venv/bin/python bench/fleet.py [--sources N] [--jobs J]

One origin serves N different pages (synthetic versions of the real page, so no two parse
alike). Each cycle is one cron `watcher check --jobs J` over all N sources (SQLite), a fresh
process: first the baselines (every page parsed and stored), then a cycle where nothing
changed, then one where a tenth of the pages moved a few cells. Prints each cycle's wall
time (target ≤ 10 s) and peak memory; memory must stay flat, so the unchanged cycle's peak
is also set beside that of a cycle over a tenth of the sources (target: ≤ 10 MiB more).
Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import BIN, CELL, CYCLE, Origin, measure, serve, verdict, versions

WALL_TARGET = 10.0
FLAT_TARGET_MIB = 10.0


def moved(body: bytes) -> bytes:
    """The page with its first status cell moved on: one status change."""
    text = body.decode()
    m = CELL.search(text)
    assert m is not None
    return (text[: m.start()] + CYCLE[m.group(0)] + text[m.end() :]).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=8)
    args = parser.parse_args()
    pages = versions(args.sources, seed=11)
    origin = Origin()
    names = [f"s{i:03d}" for i in range(args.sources)]
    for name, body in zip(names, pages, strict=True):
        origin.pages[f"/{name}.md"] = body
    results = []
    with tempfile.TemporaryDirectory() as tmp, serve(origin):
        work = Path(tmp)
        config = work / "watcher.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{work}/watcher.db"\n\n'
            + "".join(
                f'[[sources]]\nname = "{n}"\nurl = "{origin.page_url(f"/{n}.md")}"\n'
                'format = "markdown"\n\n'
                for n in names
            )
        )
        check = [str(BIN / "watcher"), "--config", str(config), "check", "--jobs", str(args.jobs)]
        measure([str(BIN / "watcher"), "--config", str(config), "db", "upgrade"], work)
        for label in ("baselines", "nothing changed", "a tenth changed"):
            if label == "a tenth changed":
                for name in names[::10]:
                    origin.pages[f"/{name}.md"] = moved(origin.pages[f"/{name}.md"])
            results.append((label, measure(check, work)))
        few = measure([*check, *names[: max(1, args.sources // 10)]], work)
    ok = True
    print(f"{args.sources} sources, one `watcher check --jobs {args.jobs}` per cycle:")
    for label, run in results:
        good = run.seconds <= WALL_TARGET
        ok &= good
        print(
            f"  {label}: {run.seconds:.1f} s (target ≤ {WALL_TARGET:g} s) {verdict(good)}, "
            f"peak {run.peak_mib:.1f} MiB"
        )
    growth = results[1][1].peak_mib - few.peak_mib
    flat = growth <= FLAT_TARGET_MIB
    ok &= flat
    print(
        f"  memory: nothing-changed cycle over {args.sources // 10} sources peaks at "
        f"{few.peak_mib:.1f} MiB, over {args.sources} at {results[1][1].peak_mib:.1f} MiB: "
        f"{growth:+.1f} MiB (target ≤ {FLAT_TARGET_MIB:g} MiB) {verdict(flat)}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
