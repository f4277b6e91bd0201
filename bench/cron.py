"""Benchmark 2: a cron `watcher check` of an unchanged page beside a urlwatch run, interleaved.

    .venv/bin/python bench/cron.py [--runs N]

Both watch the same 29 KB page on the same local origin, which sends no validators, so each
run downloads and compares the whole page. Each tool stores its baseline first (untimed);
then N runs of each alternate, every run a fresh process as cron starts it. Prints the
median wall time of each, their ratio against the target (watcher ≤ 1.5× urlwatch) and
watcher's peak resident memory (target ≤ 60 MiB). Exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import BIN, PAGE, Origin, Urlwatch, corpus, measure, median, serve, verdict

RATIO_TARGET = 1.5
PEAK_TARGET_MIB = 60.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    origin = Origin()
    origin.pages["/page.md"] = (corpus() / PAGE).read_bytes()
    with tempfile.TemporaryDirectory() as tmp, serve(origin):
        work = Path(tmp)
        url = origin.page_url("/page.md")
        (work / "watcher.toml").write_text(
            f'[database]\nurl = "sqlite:///{work}/watcher.db"\n\n'
            f'[[sources]]\nname = "page"\nurl = "{url}"\nformat = "markdown"\n'
        )
        watcher = [str(BIN / "watcher"), "--config", str(work / "watcher.toml"), "check"]
        measure(watcher, work)  # the baseline
        urlwatch = Urlwatch(work / "urlwatch", url)
        ours, theirs = [], []
        for _ in range(args.runs):
            ours.append(measure(watcher, work))
            theirs.append(urlwatch.run())
    wall, other = median([r.seconds for r in ours]), median([r.seconds for r in theirs])
    peak = max(r.peak_mib for r in ours)
    ratio = wall / other
    print(
        f"cron check, unchanged page: watcher {wall * 1000:.0f} ms, "
        f"urlwatch {other * 1000:.0f} ms (medians of {args.runs} interleaved runs)"
    )
    print(f"  ratio {ratio:.2f}x (target ≤ {RATIO_TARGET}x) {verdict(ratio <= RATIO_TARGET)}")
    print(
        f"  watcher peak memory {peak:.1f} MiB (target ≤ {PEAK_TARGET_MIB:g} MiB) "
        f"{verdict(peak <= PEAK_TARGET_MIB)}; urlwatch {max(r.peak_mib for r in theirs):.1f} MiB"
    )
    return 0 if ratio <= RATIO_TARGET and peak <= PEAK_TARGET_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
