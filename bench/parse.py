"""Benchmark: parsing real pages against the target, each page on its own line.

    .venv/bin/python bench/parse.py [--runs N]

The matrix era's 26 KB 2021-01-28 page (43 tables, 344 cells) and today's 26 KB 2025-05-09
status page (64 services with their documentation links, 151 resource types read into one
record per identity type), then the diff of two consecutive real versions (2021-01-28 →
2021-11-09, 66 changes). Prints the median over N runs of each beside the target and exits 1
when one misses. The pages are the repository's own, in watcher/corpus.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from watcher.domain.diff import diff
from watcher.parse import parse

TARGET_MS = 5.0
PAGES = (
    ("2021-01-28 matrix page", "en/2021-01-28__MicrosoftDocs.md"),
    ("2025-05-09 status page", "status-page/2025-05-09__MicrosoftDocs-entra-docs__41d266e.md"),
)


DIFFED = ("en/2021-01-28__MicrosoftDocs.md", "en/2021-11-09__MicrosoftDocs__03436ea.md")


def corpus() -> Path:
    return Path(__file__).resolve().parents[1] / "watcher" / "corpus"


def median_ms(work: Callable[[], object], runs: int) -> float:
    for _ in range(10):  # warm caches and the allocator before timing
        work()
    times: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    ok = True
    jobs: list[tuple[str, Callable[[], object]]] = [
        (f"parse {label}", partial(parse, (corpus() / name).read_bytes(), "markdown"))
        for label, name in PAGES
    ]
    old, new = (parse((corpus() / name).read_bytes(), "markdown") for name in DIFFED)
    jobs.append(("diff 2021-01-28 → 2021-11-09", partial(diff, old, new)))
    for label, work in jobs:
        median = median_ms(work, args.runs)
        passed = median <= TARGET_MS
        ok = ok and passed
        verdict = "PASS" if passed else "FAIL"
        print(f"{label}: median {median:.1f} ms (target ≤ {TARGET_MS:g} ms) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
