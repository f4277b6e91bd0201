"""The repository stands on its own: a clone with nothing beside it has every page its tests,
docs and demo read, and no tracked file sends a reader outside it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import CORPUS, ROOT

# A path that climbs out of the repository into the folder the project's pages and design
# notes were first read from, relative or absolute. Spelled in pieces so that this file does
# not match itself.
_SIBLING = "shared"
_OUTSIDE = re.compile(rf"\.\./{_SIBLING}\b|/work/{_SIBLING}\b")


def _tracked() -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in out.split("\0") if name]


def test_no_tracked_file_points_outside_the_repository() -> None:
    hits = []
    for path in _tracked():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue  # a picture, or a file the working tree no longer has
        for number, line in enumerate(text.splitlines(), start=1):
            if _OUTSIDE.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == []


def test_every_relative_link_in_the_docs_resolves_inside_the_repository() -> None:
    """Markdown links to files of the project ([text](path)) name files that are there."""
    link = re.compile(r"\]\((?!https?:|mailto:|#)([^)\s]+)\)")
    broken = []
    for path in _tracked():
        if path.suffix != ".md" or path.is_relative_to(CORPUS):
            continue  # the corpus pages' links are Microsoft's, relative to their site
        for target in link.findall(path.read_text(encoding="utf-8")):
            resolved = (path.parent / target.split("#", 1)[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert broken == []


def test_every_page_the_corpus_readme_lists_is_in_the_repository() -> None:
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| ([\w-]+/[^ |]+\.md) \|", readme, flags=re.MULTILINE))
    present = {str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.md")}
    assert listed == present
    assert len(present) == 8
