"""The diff of consecutive real versions of the page, against change sets written by reading
the two pages (tests/data/changes/*.json), not by copying the program's output.

Each golden change lists the fields a reader of the page can state; fields it leaves out
are the defaults (no row, no old entity...). Raw texts are checked for value changes,
where they are the change; cell counts for changes that carry a whole entity or section.
"""

from __future__ import annotations

import json
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS
from watcher.domain.diff import apply, diff
from watcher.domain.document import Change, Document

DATA = Path(__file__).resolve().parents[1] / "data" / "changes"
GOLDEN = sorted(DATA.glob("*.json"))
REPO = Path(__file__).resolve().parents[2]

_DEFAULTS: dict[str, Any] = {
    "row": "",
    "column": "",
    "old_entity": None,
    "old_section": None,
    "old_status": None,
    "new_status": None,
}
_CARRYING = frozenset(
    {
        "entity_added",
        "entity_removed",
        "section_added",
        "section_removed",
        "attribute_added",
        "attribute_removed",
    }
)


@cache
def page(name: str) -> Document:
    from watcher.parse import parse

    return parse((CORPUS / name).read_bytes(), "markdown")


def load(path: Path) -> tuple[Document, Document, list[dict[str, Any]]]:
    golden = json.loads(path.read_text(encoding="utf-8"))
    expected = [{**_DEFAULTS, **change} for change in golden["changes"]]
    return page(golden["old"]), page(golden["new"]), expected


def seen(c: Change) -> dict[str, Any]:
    """The fields of a change that the golden files state."""
    out: dict[str, Any] = {
        "kind": c.kind,
        "severity": c.severity,
        "section": c.section,
        "entity": c.entity,
        **{name: getattr(c, name) for name in _DEFAULTS},
    }
    if c.kind == "value_changed":
        out["old_raw"], out["new_raw"] = c.old_raw, c.new_raw
    if c.kind == "link_changed":
        out["old_links"], out["new_links"] = list(c.old_links), list(c.new_links)
    if c.kind in _CARRYING:
        out["cells"] = len(c.cells)
    return out


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_diff_matches_the_reading_of_the_pages(path: Path) -> None:
    old, new, expected = load(path)
    assert [seen(c) for c in diff(old, new)] == expected


@pytest.mark.parametrize("path", GOLDEN, ids=[p.stem for p in GOLDEN])
def test_replaying_the_changes_gives_the_new_page(path: Path) -> None:
    old, new, _ = load(path)
    replayed = apply(old, diff(old, new))
    assert {r.key: (r.raw, r.status) for r in replayed} == {
        r.key: (r.raw, r.status) for r in new.records
    }


def test_every_consecutive_pair_of_both_chains_has_a_golden_file() -> None:
    chains = [sorted(p.name for p in (CORPUS / d).glob("*.md")) for d in ("en", "status-page")]
    assert all(len(chain) == 3 for chain in chains)
    covered = {(g["old"], g["new"]) for g in (json.loads(p.read_text()) for p in GOLDEN)}
    wanted = {
        (f"{d}/{a}", f"{d}/{b}")
        for d, chain in zip(("en", "status-page"), chains, strict=True)
        for a, b in pairwise(chain)
    }
    assert covered == wanted


def test_arc_enabled_servers_is_a_rename_not_a_removal_and_an_addition() -> None:
    changes = diff(
        page("en/2021-01-28__MicrosoftDocs.md"), page("en/2021-11-09__MicrosoftDocs__03436ea.md")
    )
    about = [c for c in changes if "Arc enabled servers" in (c.entity, c.old_entity or "")]
    about += [c for c in changes if c.entity == "Azure Arc-enabled servers"]
    assert [(c.kind, c.entity, c.old_entity) for c in about] == [
        ("entity_renamed", "Azure Arc-enabled servers", "Azure Arc enabled servers")
    ]


def test_api_management_user_assigned_in_azure_government_became_available() -> None:
    changes = diff(
        page("en/2021-01-28__MicrosoftDocs.md"), page("en/2021-11-09__MicrosoftDocs__03436ea.md")
    )
    (change,) = [
        c
        for c in changes
        if c.entity == "Azure API Management" and (c.row, c.column) == ("user_assigned", "usgov")
    ]
    assert (change.kind, change.severity, change.old_status, change.new_status) == (
        "status_changed",
        "notice",
        "preview",
        "available",
    )
    assert (change.row_label, change.column_label) == ("User assigned", "Azure Government")
