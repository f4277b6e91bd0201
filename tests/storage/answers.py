"""The real page history with flips, and what the audit commands answer about it: for the
storage migration's test, which runs this with the code before the migration too (as a
script, in a process whose ``watcher`` is that code), so it uses nothing but the command
line both have.

    python tests/storage/answers.py DB_URL import|answers CORPUS

``import`` stores the history and prints nothing; ``answers`` prints the answers as JSON.
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from watcher.cli import cli

SOURCE = "page"
FLIPS = 10
# Moments the page is asked for: before the history, in each era, and now.
MOMENTS = ("2019-01-01", "2019-06-19", "2020-03-01", "2021-11-10", "2022-06-01", "2025-06-04")
ENTITIES = (
    ("Azure Functions",),
    ("Azure Kubernetes*",),
    ("Azure Functions", "--row", "user_assigned", "--column", "usgov"),
    ("Microsoft.Web*",),
    ("azure api management",),
)


def versions(corpus: Path) -> list[Path]:
    """The English and status-page versions, oldest first."""
    return sorted((corpus / "en").glob("*.md")) + sorted((corpus / "status-page").glob("*.md"))


def command(db: str, *args: str) -> bytes:
    result = CliRunner().invoke(cli, ["--db", db, *args], catch_exceptions=False)
    if result.exit_code != 0:
        raise SystemExit(f"watcher {' '.join(args)}: exit {result.exit_code}\n{result.output}")
    return result.stdout_bytes


def import_history(db: str, corpus: Path) -> None:
    """The versions in order, then ten flips between the last two (a stale CDN node
    serving the older one every other day)."""
    pages = versions(corpus)
    for page in pages:
        command(db, "import", "--source", SOURCE, str(page))
    for i in range(FLIPS):
        page = pages[-2] if i % 2 == 0 else pages[-1]
        command(db, "import", "--source", SOURCE, "--at", f"2025-06-{i + 1:02d}", str(page))


def answers(db: str) -> dict[str, Any]:
    """Each audit command's output, as text (``show``'s as base64, its bytes exact)."""
    out: dict[str, Any] = {}

    def ask(*args: str) -> None:
        out[" ".join(args)] = command(db, *args).decode()

    listing = json.loads(command(db, "snapshots", "--format", "json"))
    out["snapshots"] = listing
    for snap in listing:
        shown = command(db, "show", str(snap["id"]))
        out[f"show {snap['id']}"] = base64.b64encode(shown).decode()
    for fmt in ("json", "csv"):
        ask("state", "--format", fmt)
        ask("changes", "--format", fmt)
        ask("export", "--format", fmt)
    for moment in MOMENTS:
        ask("state", "--at", moment, "--format", "json")
    ask("state", "--entity", "Azure*", "--format", "json")
    for entity in ENTITIES:
        ask("history", *entity, "--format", "json")
    ask("changes", "--entity", "Azure Functions", "--format", "json")
    ask("changes", "--kind", "entity_added", "--format", "csv")
    return out


if __name__ == "__main__":
    url, what, corpus_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if what == "import":
        import_history(url, corpus_dir)
    else:
        json.dump(answers(url), sys.stdout)
