"""Benchmark 13: the query commands' whole run on a small database, as a user runs them.

    .venv/bin/python bench/startup.py [--runs N]

A SQLite database of three real versions of the page (the 2019, January 2021 and November
2021 matrix pages, imported with `watcher import`), then `watcher changes`, `state`,
`history 'Azure Functions'` and `snapshots`, each N times as a fresh process of the installed
console script, output to /dev/null (a pipe, not a terminal: the table goes through rich as it
does into a file). Prints the median wall time and peak memory of each against the target
(≤ 300 ms whole command); exit 1 when one misses. Nearly all of it is start-up: these
queries take a few milliseconds on a database this small. ``--baseline`` runs another tree's
console script on the same database, so that tree must read this one's schema (the same
migration head).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import BIN, Run, corpus, measure, median, verdict

TARGET_MS = 300.0
PAGES = (
    "en/2019-06-19__MicrosoftDocs__a4b043d.md",
    "en/2021-01-28__MicrosoftDocs.md",
    "en/2021-11-09__MicrosoftDocs__03436ea.md",
)
COMMANDS = (
    ("changes",),
    ("state",),
    ("history", "Azure Functions"),
    ("snapshots",),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--baseline",
        metavar="WATCHER",
        help="another installed watcher console script (an older tree's venv) to run "
        "interleaved on the same database, for a before/after under the same load",
    )
    args = parser.parse_args()
    watcher = str(BIN / "watcher")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "watcher.toml").write_text(f'[database]\nurl = "sqlite:///{work}/watcher.db"\n')
        base = [watcher, "--config", str(work / "watcher.toml")]
        # Each tree keeps its own config cache, in the run's folder (never the user's
        # ~/.cache): the cache is keyed by the code that validated it, so two trees sharing
        # one would each miss it on every run and pay for a full validation (pydantic's
        # import), which is no part of either's figure.
        ours = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"))
        theirs = dict(os.environ, XDG_CACHE_HOME=str(work / "cache-baseline"))
        pages = [str(corpus() / p) for p in PAGES]
        subprocess.run([*base, "import", *pages, "--source", "azure-mi"], check=True, cwd=work,
                       env=ours, capture_output=True)  # fmt: skip
        other = [args.baseline, *base[1:]] if args.baseline else None
        for command in COMMANDS:
            measure([*base, *command], work, ours)  # warm the page cache and the config cache
            if other:
                measure([*other, *command], work, theirs)
        runs: dict[tuple[str, ...], list[Run]] = {c: [] for c in COMMANDS}
        before: dict[tuple[str, ...], list[Run]] = {c: [] for c in COMMANDS}
        for _ in range(args.runs):  # interleaved, so a slow moment falls on all of them
            for command in COMMANDS:
                runs[command].append(measure([*base, *command], work, ours))
                if other:
                    before[command].append(measure([*other, *command], work, theirs))
        with open("/proc/loadavg", encoding="ascii") as f:
            load = ", ".join(f.read().split()[:3])
        print(f"query commands on a 3-snapshot SQLite database, medians of {args.runs} runs "
              f"(load average {load})")  # fmt: skip
        for command in COMMANDS:
            wall = median([r.seconds for r in runs[command]]) * 1000
            peak = max(r.peak_mib for r in runs[command])
            good = wall <= TARGET_MS
            ok &= good
            shown = " ".join(repr(c) if " " in c else c for c in command)
            was = ""
            if other:
                was = f" (baseline {median([r.seconds for r in before[command]]) * 1000:.0f} ms)"
            print(
                f"  watcher {shown}: {wall:.0f} ms, peak {peak:.1f} MiB{was} "
                f"(target ≤ {TARGET_MS:.0f} ms) {verdict(good)}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
