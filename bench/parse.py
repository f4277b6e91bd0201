"""Benchmark: parsing the 26 KB 2021-01-28 page (43 tables, 344 cells), against its target.

    .venv/bin/python bench/parse.py [--runs N]

Prints the median over N runs beside the target and exits 1 when it misses. The pages
are the repository's own, in watcher/corpus.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from watcher.parse import parse

TARGET_MS = 5.0
PAGE = "en/2021-01-28__MicrosoftDocs.md"


def corpus() -> Path:
    return Path(__file__).resolve().parents[1] / "watcher" / "corpus"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    body = (corpus() / PAGE).read_bytes()
    for _ in range(10):  # warm caches and the allocator before timing
        parse(body, "markdown")
    times: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        parse(body, "markdown")
        times.append(time.perf_counter() - start)
    median = statistics.median(times) * 1000
    ok = median <= TARGET_MS
    verdict = "PASS" if ok else "FAIL"
    print(f"parse 2021-01-28 page: median {median:.1f} ms (target ≤ {TARGET_MS:g} ms) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
