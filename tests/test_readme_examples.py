"""Every shell example of README.md and docs/*.md runs as written and prints what the page
shows (how, and what is normalized: tests/docexamples.py).

In README.md each example is a session of its own, from a fresh database; a page in docs/
(the audit session) is one session from its first command to its last, as it tells it.
`WATCHER_UPDATE_DOCS=1` rewrites the pages' outputs from the real runs instead.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.docexamples import check_page, matches, read_blocks, regenerated

# page -> whether it is one session (True) or each example is a session of its own (False)
PAGES = {"README.md": False} | {
    f"docs/{page.name}": True for page in sorted((ROOT / "docs").glob("*.md"))
}


@pytest.mark.parametrize("name", PAGES)
def test_the_page_has_examples(name: str) -> None:
    blocks = read_blocks((ROOT / name).read_text(encoding="utf-8").split("\n"))
    assert sum(len(b.commands) for b in blocks) >= 10


@pytest.mark.parametrize("name", PAGES)
def test_every_example_prints_what_the_page_shows(name: str, tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed: the pages' examples pipe JSON through it")
    problems = check_page(ROOT / name, tmp_path, one_session=PAGES[name])
    assert not problems, (
        f"{len(problems)} example(s) of {name} fail or print something else "
        "(WATCHER_UPDATE_DOCS=1 rewrites the page from real runs):\n\n" + "\n\n".join(problems)
    )


def test_dots_stand_for_left_out_lines_and_only_fractional_timestamps_vary() -> None:
    real = ["a", "b (2026-12-01T06:05:06.134286Z)", "c", "d", "e"]
    assert matches(["a", "...", "b (2020-01-01T00:00:00.000001Z)", "...", "e"], real)
    assert matches(["a", "...", "e"], real) and matches(["...", "d", "e"], real)
    assert not matches(["a", "...", "d"], real)  # `d` is not where the output ends
    assert not matches(["a", "b (2026-12-01T06:05:06Z)", "..."], real)  # a date that stays
    assert not matches(["a", "b", "c", "d", "e"], real)


def test_an_update_keeps_the_pages_excerpts() -> None:
    page = ["a", "...", "c old", "x", "...", "e"]
    assert regenerated(page, ["a", "b", "c old", "d", "z", "e"]) == [
        "a", "...", "c old", "d", "...", "e"
    ]  # fmt: skip
    assert regenerated(["a", "b"], ["a", "c"]) == ["a", "c"]
    with pytest.raises(AssertionError, match="is gone"):
        regenerated(page, ["a", "b", "c new", "e"])
