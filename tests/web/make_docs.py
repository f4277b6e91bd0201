"""Screenshots of the web view for the README, taken by the system's headless Chromium
(tests.web.browser) on the bundled page history imported into a fresh database.

Regenerate after changing a page:  .venv/bin/python -m tests.web.make_docs
tests/web/test_pages_browser.py checks that each one is there and that the README shows it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from tests.conftest import ROOT
from tests.web.browser import CHROMIUM, browser_page, served_history
from tests.web.conftest import PAGES

DOCS = ROOT / "docs"
# (file in docs/, path on the view, what the README says of it)
SHOTS = (
    ("web-as-of-2021-06-01.png", "/?at=2021-06-01", "the matrix as of 2021-06-01"),
    (
        "web-timeline-aks-user-assigned-usgov.png",
        "/history?source=mi&entity=Azure%20Kubernetes%20Service%20%28AKS%29"
        "&row=user_assigned&column=usgov",
        "one cell's timeline",
    ),
    ("web-now.png", "/", "today's page"),
    ("web-changes.png", "/changes?column=usgov", "the change log, filtered"),
    ("web-diff.png", "/diff?old=2&new=3", "the diff of two snapshots"),
    ("web-snapshot.png", "/snapshots/3", "a snapshot"),
    ("web-status.png", "/status", "the status"),
)


def take(folder: Path, out: Path = DOCS) -> list[Path]:
    # Imported by the paths in the repository (an import's provenance is the path it was
    # given), so the screenshots name watcher/corpus/..., not this machine's folders.
    os.chdir(ROOT)
    pages = [p.relative_to(ROOT) for p in PAGES]
    written = []
    with served_history(folder, pages) as base, browser_page() as page:
        for name, path, _ in SHOTS:
            page.goto(f"{base}{path}")
            target = out / name
            page.screenshot(path=str(target), full_page=False)
            written.append(target)
    return written


def main() -> int:
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        for path in take(Path(tmp)):
            print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
