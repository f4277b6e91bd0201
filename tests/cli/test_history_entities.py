"""An entity the history never had is told as such, with the closest name it did have: a
misspelt `--entity` or `history` name must not read as an entity without changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cliutil import run
from tests.conftest import EN_CHAIN

TYPO = "watcher: no entity matching 'Azure Functons' in the accepted history; did you mean 'Azure Functions'?\n"  # noqa: E501


@pytest.fixture
def history(db_url: str) -> str:
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    return db_url


def test_a_misspelt_entity_in_the_change_log_names_the_closest(history: str) -> None:
    piped = run("changes", "--entity", "Azure Functons", db=history)
    assert (piped.stdout, piped.stderr) == ("", TYPO)
    # JSON and CSV stay what a script reads (an empty list, a header), the line beside them.
    as_json = run("changes", "--entity", "Azure Functons", "--format", "json", db=history)
    assert json.loads(as_json.stdout) == [] and as_json.stderr == TYPO
    as_csv = run("changes", "--entity", "Azure Functons", "--format", "csv", db=history)
    assert as_csv.stdout.startswith("id,source,") and as_csv.stderr == TYPO
    in_source = run("changes", "--entity", "Azure Functons", "--source", "mi", db=history)
    assert "in the accepted history of 'mi'; did you mean 'Azure Functions'?" in in_source.stderr


def test_an_entity_with_no_changes_that_match_is_no_changes(history: str) -> None:
    for name in ("Azure Functions", "azure functions", "Azure Func*"):
        result = run("changes", "--entity", name, "--kind", "entity_removed", db=history)
        assert (result.stdout, result.stderr) == ("", "watcher: no changes\n"), name
    # A name an entity had before a rename is a name the history had.
    old = run("changes", "--entity", "Azure Arc enabled servers", "--kind", "entity_removed",
              db=history)  # fmt: skip
    assert old.stderr == "watcher: no changes\n"
    renamed = run("changes", "--entity", "Azure Arc enabled servers", "--format", "json",
                  db=history)  # fmt: skip
    kinds = [r["kind"] for r in json.loads(renamed.stdout)]
    assert kinds == ["entity_added", "entity_renamed"] and renamed.stderr == ""


def test_a_glob_that_matches_no_name_suggests_none(history: str) -> None:
    result = run("changes", "--entity", "Azure Kub*x", db=history)
    assert result.stderr == "watcher: no entity matching 'Azure Kub*x' in the accepted history\n"


def test_a_misspelt_entity_has_no_history_and_names_the_closest(history: str) -> None:
    result = run("history", "azure functons", db=history)
    assert result.stderr == (
        "watcher: no entity matching 'azure functons' in the accepted history; "
        "did you mean 'Azure Functions'?\n"
    )
    found = run("history", "azure functions", "--format", "json", db=history)
    assert json.loads(found.stdout) and found.stderr == ""


def test_a_name_with_a_glob_letter_is_told_how_to_match_it(db_url: str, tmp_path: Path) -> None:
    # "[classic]" as a glob is a class of letters: it matches no name, which the line says,
    # with the glob that does.
    page = tmp_path / "page.md"
    text = EN_CHAIN[-1].read_text(encoding="utf-8")
    page.write_text(text.replace("Azure Functions", "Azure Functions [classic]"), encoding="utf-8")
    run("import", str(page), "--source", "br", db=db_url)
    result = run("changes", "--entity", "azure functions [classic]", db=db_url)
    assert result.stderr == (
        "watcher: no entity matching 'azure functions [classic]' in the accepted history; "
        "[, * and ? are wildcards: 'Azure Functions [[]classic]' matches "
        "'Azure Functions [classic]'\n"
    )
    found = run("history", "Azure Functions [[]classic]", "--format", "json", db=db_url)
    assert json.loads(found.stdout) and found.stderr == ""
