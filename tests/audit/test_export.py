"""`watcher export`: the change log with its provenance; the CSV reads back to the same rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN
from watcher.audit.changes import CHANGE_FIELDS
from watcher.audit.export import EXPORT_FIELDS, read_exact_csv


@pytest.fixture
def en(db_url: str) -> list[dict[str, Any]]:
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    return run_json("snapshots", db=db_url)


def export(db_url: str, *args: str) -> str:
    return run("export", *args, db=db_url).stdout


def test_csv_reads_back_to_the_json_rows(db_url: str, en: list[dict[str, Any]]) -> None:
    rows = json.loads(export(db_url, "--format", "json"))
    assert len(rows) == len(run_json("changes", db=db_url)) > 100
    text = export(db_url, "--format", "csv")
    assert read_exact_csv(text) == rows
    # Empty texts and missing values stay apart (entity_added has no old_raw; a cell that
    # was empty has old_raw "").
    assert any(r["old_raw"] == "" for r in rows) and any(r["old_raw"] is None for r in rows)
    # It is ordinary CSV for everyone else: same header, rows and texts.
    plain = list(csv.DictReader(io.StringIO(text)))
    assert list(plain[0]) == list(EXPORT_FIELDS)
    assert [r["entity"] for r in plain] == [r["entity"] for r in rows]
    assert [r["new_raw"] for r in plain] == [r["new_raw"] or "" for r in rows]


def test_export_carries_the_change_log_and_its_provenance(
    db_url: str, en: list[dict[str, Any]]
) -> None:
    rows = json.loads(export(db_url, "--format", "json"))
    changes = run_json("changes", db=db_url)
    assert [{k: r[k] for k in CHANGE_FIELDS} for r in rows] == changes
    by_id = {s["id"]: s for s in en}
    for r in rows:
        old, new = by_id[r["from_snapshot"]], by_id[r["to_snapshot"]]
        assert (r["from_sha256"], r["from_fetched_at"], r["from_origin_ref"]) == (
            old["sha256"],
            old["fetched_at"],
            old["origin_ref"],
        )
        assert (r["to_sha256"], r["to_fetched_at"], r["to_origin"], r["to_origin_ref"]) == (
            new["sha256"],
            new["fetched_at"],
            "import",
            new["origin_ref"],
        )
        assert r["to_url"] == str(EN_CHAIN[en.index(new)])
        assert r["source_url"] == EN_CHAIN[0].resolve().as_uri()


def test_export_window_and_output_file(
    db_url: str, en: list[dict[str, Any]], tmp_path: Path
) -> None:
    target = tmp_path / "audit.csv"
    result = run(
        "export",
        "--since",
        "2021-06-01",
        "--until",
        "2021-11-09",
        "--format",
        "csv",
        "--output",
        str(target),
        db=db_url,
    )
    assert result.stdout == ""
    rows = read_exact_csv(target.read_text(encoding="utf-8"))
    assert rows and {r["detected_at"] for r in rows} == {"2021-11-09T00:00:00Z"}
    assert f"{len(rows)} change(s) written to {target}" in result.stderr
    assert export(db_url, "--until", "2021-01-27", "--format", "json").strip() == "[]"


def test_export_needs_a_format_and_a_known_source(db_url: str, en: list[dict[str, Any]]) -> None:
    run("export", db=db_url, code=2)
    run("export", "--format", "table", db=db_url, code=2)
    assert (
        "no source named"
        in run("export", "--format", "csv", "--source", "x", db=db_url, code=2).stderr
    )
    run("export", "--format", "csv", "--since", "June", db=db_url, code=2)


@pytest.mark.parametrize(
    "value",
    ["", "plain", 'quote " inside', "comma, inside", "line\nbreak", "crlf\r\nbreak", "ünïcode"],
)
def test_exact_csv_round_trips_any_text(value: str) -> None:
    from watcher.audit.export import write_exact_csv

    rows = [
        {"id": 1, "old_raw": value, "new_raw": None},
        {"id": 2, "old_raw": None, "new_raw": value},
    ]
    out = io.StringIO()
    write_exact_csv(rows, ("id", "old_raw", "new_raw"), out)
    assert read_exact_csv(out.getvalue()) == rows
