"""Audit questions on the real en/ page history: `state --at`, `history`, `show`, and
`import` of versions that share an ms.date."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN
from watcher.cli import cli
from watcher.parse import parse

SECTION_MI = "Azure services that support managed identities for Azure resources"


def cells(rows: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    return [(r["section"], r["entity"], r["row"], r["column"], r["raw"], r["status"]) for r in rows]


def page_cells(path: Path) -> list[tuple[str, ...]]:
    doc = parse(path.read_bytes(), "markdown")
    return [(r.section, r.entity, r.row_key, r.column_key, r.raw, r.status) for r in doc.records]


@pytest.fixture
def en(db_url: str) -> list[dict[str, Any]]:
    """The en chain imported as source "mi"; its three snapshots."""
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    return run_json("snapshots", db=db_url)


# (--at, the version in force then)
IN_FORCE = [
    ("2019-06-19", 0),  # a bare date is 00:00 UTC: the 2019 page is dated that moment
    ("2020-01-01", 0),
    ("2021-01-28T01:00:00+02:00", 0),  # 2021-01-27T23:00Z: the next version is later
    ("2021-01-28", 1),
    ("2021-06-01", 1),
    ("2021-11-08T23:59:59Z", 1),
    ("2021-11-09", 2),
    ("2030-01-01", 2),
]


def test_state_at_a_date_is_the_version_in_force(db_url: str, en: list[dict[str, Any]]) -> None:
    for at, version in IN_FORCE:
        rows = run_json("state", "--source", "mi", "--at", at, db=db_url)
        assert cells(rows) == page_cells(EN_CHAIN[version]), at
        assert {r["snapshot"] for r in rows} == {en[version]["id"]}, at
    assert set(rows[0]) >= {
        "section",
        "entity",
        "row",
        "column",
        "raw",
        "status",
        "since",
        "snapshot",
    }


def test_state_without_at_is_the_latest_and_before_history_is_empty(
    db_url: str, en: list[dict[str, Any]]
) -> None:
    assert cells(run_json("state", db=db_url)) == page_cells(EN_CHAIN[2])
    result = run("state", "--at", "2019-06-18", "--format", "json", db=db_url)
    assert result.stdout.strip() == "[]"
    assert "no accepted snapshot at or before 2019-06-18" in result.stderr
    # A page was there: a misspelt entity is what matched nothing, and is named.
    result = run("state", "--entity", "Azure Functons", "--format", "json", db=db_url)
    assert result.stdout.strip() == "[]" and result.stderr == (
        "watcher: no entity matching 'Azure Functons' on the page as of now; "
        "did you mean 'Azure Functions'?\n"
    )


def test_state_since_is_when_the_cell_took_its_value(db_url: str, en: list[dict[str, Any]]) -> None:
    def since(at: str, entity: str, row: str, column: str) -> str:
        rows = run_json("state", "--at", at, "--entity", entity, db=db_url)
        (found,) = [r for r in rows if (r["row"], r["column"]) == (row, column)]
        return str(found["since"])

    # Not available (2019) → Available on the 2021-01-28 page.
    assert since("2021-06-01", "Azure Functions", "user_assigned", "usgov") == (
        "2021-01-28T00:00:00Z"
    )
    assert since("2021-06-01", "azure functions", "system_assigned", "usgov") == (
        "2019-06-19T00:00:00Z"
    )
    # Not available → Preview (2021-01-28) → Available (2021-11-09).
    assert since("2021-06-01", "Azure API Management", "user_assigned", "usgov") == (
        "2021-01-28T00:00:00Z"
    )
    assert since("2030-01-01", "Azure API Management", "user_assigned", "usgov") == (
        "2021-11-09T00:00:00Z"
    )
    # An entity first listed in 2021.
    assert since("2030-01-01", "Azure App Configuration", "user_assigned", "global") == (
        "2021-01-28T00:00:00Z"
    )
    # Renamed on 2021-11-09 ("Azure Storage blobs and queues"): its status has not changed
    # since 2019, and the rename carries that over.
    assert since("2030-01-01", "Azure Storage blobs, queues, and tables", "usgov", "status") == (
        "2019-06-19T00:00:00Z"
    )


def test_history_of_one_cell_across_the_en_chain(db_url: str, en: list[dict[str, Any]]) -> None:
    rows = run_json(
        "history",
        "Azure API Management",
        "--row",
        "user_assigned",
        "--column",
        "usgov",
        db=db_url,
    )
    changes = {
        r["to_snapshot"]: r["id"]
        for r in run_json(
            "changes", "--entity", "Azure API Management", "--column", "usgov", db=db_url
        )
        if r["row"] == "user_assigned"
    }
    s0, s1, s2 = (s["id"] for s in en)
    t0, t1, t2 = "2019-06-19T00:00:00Z", "2021-01-28T00:00:00Z", "2021-11-09T00:00:00Z"
    assert [
        (r["status"], r["raw"], r["since"], r["until"], r["snapshot"], r["change"]) for r in rows
    ] == [
        ("not_available", "Not available", t0, t1, s0, None),
        ("preview", "Preview", t1, t2, s1, changes[s1]),
        ("available", "Available", t2, None, s2, changes[s2]),
    ]
    assert {(r["section"], r["entity"], r["row"], r["column"]) for r in rows} == {
        (SECTION_MI, "Azure API Management", "user_assigned", "usgov")
    }
    # The filters read fewer changes, and give what filtering the whole history gives;
    # a row or column may be named as the page writes it.
    whole = run_json("history", "Azure API Management", db=db_url)
    assert rows == [r for r in whole if (r["row"], r["column"]) == ("user_assigned", "usgov")]
    assert rows == run_json(
        "history", "Azure API Management", "--row", "User assigned", "--column",
        "Azure Government", db=db_url,
    )  # fmt: skip
    usgov = run_json("history", "Azure API Management", "--column", "usgov", db=db_url)
    assert usgov == [r for r in whole if r["column"] == "usgov"]


def test_history_names_an_entity_in_any_spelling_or_by_glob(
    db_url: str, en: list[dict[str, Any]]
) -> None:
    exact = run_json("history", "Azure Functions", db=db_url)
    assert len({(r["row"], r["column"]) for r in exact}) == 8
    assert run_json("history", "azure-functions", db=db_url) == exact
    assert run_json("history", "AZURE FUNC*", db=db_url) == exact
    aks = run_json("history", "Azure Kubernetes*", "--column", "usgov", db=db_url)
    assert {r["entity"] for r in aks} == {"Azure Kubernetes Service (AKS)"}
    assert run("history", "No Such Service", db=db_url).stderr == (
        "watcher: no entity matching 'No Such Service' in the accepted history\n"
    )


def test_history_follows_a_rename_under_either_name(db_url: str, en: list[dict[str, Any]]) -> None:
    new = run_json("history", "Azure Storage blobs, queues, and tables", db=db_url)
    old = run_json("history", "Azure Storage blobs and queues", db=db_url)
    assert new == old
    assert {r["entity"] for r in new} == {"Azure Storage blobs, queues, and tables"}
    status = [r for r in new if (r["row"], r["column"]) == ("usgov", "status")]
    assert [(r["since"], r["until"], r["change"]) for r in status] == [
        ("2019-06-19T00:00:00Z", None, None)
    ]


def test_history_and_state_agree_on_every_cell(db_url: str, en: list[dict[str, Any]]) -> None:
    """`since` of each cell of `state --at D` is the start of the history interval that
    holds D, for every cell of every version (renamed and moved entities included)."""
    intervals = run_json("history", "*", db=db_url)
    by_cell: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    by_name: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in intervals:
        by_cell.setdefault((r["section"], r["entity"], r["row"], r["column"]), []).append(r)
        by_name.setdefault((r["entity"], r["row"], r["column"]), []).append(r)
    latest_names = {r["entity"] for r in run_json("state", db=db_url)}
    checked = 0
    for at in ("2019-06-19T00:00:00Z", "2021-06-01T00:00:00Z", "2030-01-01T00:00:00Z"):
        for r in run_json("state", "--at", at, db=db_url):
            # History reports a cell under its newest section (a moved entity) and name.
            found = by_cell.get((r["section"], r["entity"], r["row"], r["column"]))
            found = found or by_name.get((r["entity"], r["row"], r["column"]))
            if found is None:  # renamed since: test_history_follows_a_rename_under_either_name
                assert r["entity"] not in latest_names
                continue
            (holding,) = [h for h in found if h["since"] <= at and (h["until"] or "~") > at]
            checked += 1
            assert (holding["raw"], holding["status"], holding["since"]) == (
                r["raw"],
                r["status"],
                r["since"],
            )
    assert checked > 800


def test_show_prints_the_page_exactly_as_stored(db_url: str, en: list[dict[str, Any]]) -> None:
    result = CliRunner().invoke(cli, ["--db", db_url, "show", str(en[1]["id"])])
    assert result.exit_code == 0
    assert result.stdout_bytes == EN_CHAIN[1].read_bytes()
    assert hashlib.sha256(result.stdout_bytes).hexdigest() == en[1]["sha256"]
    assert "no snapshot 999" in run("show", "999", db=db_url, code=2).stderr


def test_unknown_source_is_a_usage_error(db_url: str, en: list[dict[str, Any]]) -> None:
    assert "no source named 'nope'" in run("state", "--source", "nope", db=db_url, code=2).stderr
    run("history", "Azure Functions", "--source", "nope", db=db_url, code=2)
    run("state", "--at", "yesterday", db=db_url, code=2)


def test_import_of_versions_that_share_an_ms_date(db_url: str, tmp_path: Path) -> None:
    """The argument order decides, the times are made distinct, and a second run adds
    nothing (it used to store both again, a second after the latest)."""
    first = EN_CHAIN[1].read_bytes()
    # Azure Functions, User assigned, Azure Government: Available → Preview.
    start = first.index(b"### Azure Functions")
    cell = b"| User assigned | ![Available][check] | ![Available][check]  |"
    at = first.index(cell, start)
    changed = b"| User assigned | ![Available][check] | Preview  |"
    a, b = tmp_path / "a.md", tmp_path / "b.md"
    a.write_bytes(first)
    b.write_bytes(first[:at] + changed + first[at + len(cell) :])

    run("import", str(a), str(b), "--source", "x", db=db_url)
    snaps = run_json("snapshots", db=db_url)
    assert [(s["origin_ref"], s["fetched_at"]) for s in snaps] == [
        (str(a), "2021-01-28T00:00:00Z"),
        (str(b), "2021-01-28T00:00:01Z"),
    ]
    (change,) = run_json("changes", db=db_url)
    assert (change["kind"], change["column"], change["new_status"]) == (
        "status_changed",
        "usgov",
        "preview",
    )

    out = run("import", str(a), str(b), "--source", "x", db=db_url).stdout
    assert out.count("no change") == 2
    assert run_json("snapshots", db=db_url) == snaps
    assert len(run_json("changes", db=db_url)) == 1

    # The other order is another history: b first, then a (a change back).
    run("import", str(b), str(a), "--source", "y", db=db_url)
    ys = run_json("snapshots", "--source", "y", db=db_url)
    assert [s["origin_ref"] for s in ys] == [str(b), str(a)]
