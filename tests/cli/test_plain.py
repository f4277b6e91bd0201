"""Plain rows, what a listing writes to a pipe: one line per row, aligned, streamed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from watcher.cli.output import emit, print_change_log
from watcher.cli.plain import write_plain

FIELDS = ("entity", "column", "status", "raw")


def _plain(rows: list[dict[str, Any]], fields: tuple[str, ...] = FIELDS) -> list[str]:
    out = io.StringIO()
    write_plain(rows, fields, out)
    return out.getvalue().split("\n")


def test_rows_line_up_under_a_header_with_statuses_by_their_labels() -> None:
    lines = _plain(
        [
            {"entity": "Azure Functions", "column": "usgov", "status": "available", "raw": "Yes"},
            {"entity": "AKS", "column": "global", "status": "not_available", "raw": None},
        ]
    )
    assert lines == [
        "entity           column  status         raw",
        "Azure Functions  usgov   Available      Yes",
        "AKS              global  Not available",  # an empty last value leaves no spaces
        "",
    ]


def test_page_text_stays_on_its_line_and_shows_as_stored() -> None:
    row = {"entity": "A\nB\tC\u202eD", "column": "x", "status": "odd", "raw": "[b]x[/b]"}
    lines = _plain([row])
    assert len(lines) == 3 and lines[1].split("  ")[0] == "A B C\ufffdD"
    assert lines[1].endswith("odd     [b]x[/b]")  # an unknown status as stored, markup as text


def test_a_long_value_pushes_its_line_rather_than_widening_every_row() -> None:
    long = "https://" + "x" * 80
    lines = _plain(
        [
            {"entity": long, "column": "a", "status": "", "raw": "1"},
            {"entity": "short", "column": "b", "status": "", "raw": "2"},
        ]
    )
    assert lines[1] == f"{long}  a       {'':6}  1"
    assert lines[2] == f"short   b       {'':6}  2"  # as wide as "entity", not 88


def test_wide_characters_take_two_columns() -> None:
    rows = [{"entity": "東京", "column": "a"}, {"entity": "abcde", "column": "b"}]
    lines = _plain(rows, ("entity", "column"))
    assert lines[1:3] == ["東京    a", "abcde   b"]


def test_rows_are_written_a_batch_at_a_time_as_they_come() -> None:
    out = io.StringIO()

    def rows() -> Iterator[dict[str, Any]]:
        for i in range(1500):
            yield {"entity": f"e{i}", "column": "c"}
        raise RuntimeError("the query failed")

    with pytest.raises(RuntimeError):
        write_plain(rows(), ("entity", "column"), out)
    written = out.getvalue().splitlines()
    # The header and the first 1,000 rows were out before the rest was read.
    assert written[0].startswith("entity") and written[-1].startswith("e999 ")
    assert len(written) == 1001


def test_no_rows_is_the_header_alone() -> None:
    out = io.StringIO()
    emit([], FIELDS, "table", out=out)
    assert out.getvalue() == "entity  column  status  raw\n"


def test_the_change_log_to_a_pipe_is_plain_lines() -> None:
    row = {
        "id": 1,
        "source": "azure-mi",
        "from_snapshot": 1,
        "to_snapshot": 2,
        "detected_at": "2021-01-28T00:00:00Z",
        "section": "S",
        "entity": "Azure [bold]Functions[/]\nX",
        "kind": "entity_added",
        "severity": "notice",
    }
    out = io.StringIO()
    print_change_log([row], out)
    assert out.getvalue().split("\n") == [
        "",
        "azure-mi snapshot 1 → 2  (2021-01-28T00:00:00Z)",
        "  Azure [bold]Functions[/] X",
        "    notice  new on the page",
        "",
    ]


def test_no_changes_to_a_pipe_is_said_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    print_change_log([], out)
    assert out.getvalue() == "" and capsys.readouterr().err == "watcher: no changes\n"


def test_zero_width_characters_take_no_column() -> None:
    shown = ("\u200bzw", "a\ufe0fb", "\u1100\u1161", "ab")  # each two columns on a screen
    rows = [{"entity": e, "column": "x"} for e in shown]
    lines = _plain(rows, ("entity", "column"))
    assert [line[-3:] for line in lines[1:5]] == ["  x"] * 4
    assert lines[3] == "\u1100\u1161      x"  # padded as two columns: to "entity"'s six, + 2


def test_a_column_of_long_values_lines_up_under_its_header() -> None:
    name = "Azure services that support managed identities, "  # over 40 characters
    rows = [{"entity": f"{name}{i}", "column": "x"} for i in range(5)]
    lines = [line for line in _plain(rows, ("entity", "column")) if line]
    where = len(name) + 1 + 2  # the name, its digit, the gap
    assert lines[0].index("column") == where
    assert {line.index("  x") + 2 for line in lines[1:]} == {where}
