"""Benchmark: wall time of `watcher --help` (what every command pays before its own work).

    .venv/bin/python bench/help.py [--runs N]

Prints the median over N runs of a fresh `python -m watcher --help` beside the target
(≤ 100 ms) and exits 1 when it misses.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_MS = 100.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "watcher", "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    median = statistics.median(times) * 1000
    ok = median <= TARGET_MS
    verdict = "PASS" if ok else "FAIL"
    print(f"watcher --help: median {median:.0f} ms (target ≤ {TARGET_MS:g} ms) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
