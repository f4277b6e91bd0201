"""JSON and CSV are written row by row as the rows come, in the same bytes as a whole list
dumped at once: a listing of any length holds one row at a time."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from watcher.cli.output import write_csv, write_json

ROWS: list[dict[str, Any]] = [
    {},
    {"id": 1, "text": 'quote " backslash \\ newline \n tab \t nul \x00', "none": None},
    {"bidi": "\u202eevil", "emoji": "💥", "accent": "É", "links": [], "float": 1.5},
    {"links": ["/a", "/b"], "nested": {"k": [1, {}]}, "yes": True, "no": False},
    {"when": datetime(2021, 6, 1, tzinfo=UTC), "tuple": ("x",), 1: "an int key"},
]


def test_json_is_the_bytes_of_the_list_dumped_whole() -> None:
    for n in range(len(ROWS) + 1):
        for rows in (ROWS[:n], ROWS[n:], ROWS[n:] + ROWS[:n]):
            whole = json.dumps(list(rows), ensure_ascii=False, indent=2, default=str) + "\n"
            out = io.StringIO()
            write_json(iter(rows), out)
            assert out.getvalue() == whole


def test_rows_are_written_as_they_come() -> None:
    out = io.StringIO()
    seen: list[str] = []

    def rows(writer_out: io.StringIO) -> Iterator[dict[str, Any]]:
        for i in range(3):
            seen.append(writer_out.getvalue())
            yield {"id": i}

    write_json(rows(out), out)
    # Each row asked for only once the one before it was written.
    assert ['"id": 0' in s for s in seen] == [False, True, True]
    assert '"id": 1' in seen[2]
    out = io.StringIO()
    seen.clear()
    write_csv(rows(out), ["id"], out)
    assert seen == ["id\n", "id\n0\n", "id\n0\n1\n"]


# Rows of values for the writers of long listings: every kind of scalar, arrays empty and
# not, text that looks like the writers' own devices (a % of a template, a NUL separator).
FIELDS = ("id", "text", "when", "links", "50% of", "other links")
VALUES: list[list[Any]] = [
    [1, 'quote " backslash \\ newline \n tab \t nul \x00', "2021-06-01T00:00:00Z", [], None, []],
    [2, "%s %d %% %(x)s", None, ["/a", "/b"], 1.5, []],
    [3, "\u202eevil 💥 É", datetime(2021, 6, 1, tzinfo=UTC), [], True, ["/c"]],
    [4, "", 0, [], False, []],
    [-5, "\x00\x00", float("inf"), ["x\x00y"], "%", []],
]


def value_rows(n: int) -> list[list[Any]]:
    return [VALUES[i % len(VALUES)] for i in range(n)]


def test_json_from_values_is_the_bytes_of_the_rows_dumped_whole() -> None:
    from watcher.cli.output import write_json_values

    # Batches of 1,000: lengths around a batch's end, and rows with arrays between them.
    for n in (0, 1, 2, 5, 999, 1000, 1001, 2003):
        for rows in (value_rows(n), [v for v in value_rows(n) if not v[3] and not v[5]]):
            whole = [dict(zip(FIELDS, v, strict=True)) for v in rows]
            out = io.StringIO()
            write_json_values(iter(rows), FIELDS, out, arrays=("links", "other links"))
            assert (
                out.getvalue()
                == json.dumps(whole, ensure_ascii=False, indent=2, default=str) + "\n"
            )
    out = io.StringIO()
    write_json_values(iter([[], []]), (), out)
    assert out.getvalue() == "[\n  {},\n  {}\n]\n"


def test_csv_from_values_is_the_bytes_of_the_rows_as_dicts() -> None:
    from watcher.cli.output import write_csv_values

    for n in (0, 1, 5, 1000, 2003):
        rows = value_rows(n)
        old = io.StringIO()
        write_csv((dict(zip(FIELDS, v, strict=True)) for v in rows), FIELDS, old)
        new = io.StringIO()
        write_csv_values(iter(rows), FIELDS, new, arrays=("links", "other links"))
        assert new.getvalue() == old.getvalue()


def counted_rows(out: io.StringIO, seen: list[int]) -> Iterator[list[Any]]:
    """2,500 rows, noting before each how many lines the writer has written."""
    for i in range(2500):
        seen.append(out.getvalue().count("\n"))
        yield [i, "x"]


def test_values_are_written_a_batch_at_a_time() -> None:
    from watcher.cli.output import write_csv_values, write_json_values

    for write in (write_json_values, write_csv_values):
        out = io.StringIO()
        seen: list[int] = []
        write(counted_rows(out, seen), ("id", "text"), out)
        # Nothing held back beyond a batch: by the 1,001st row the first thousand are out.
        assert seen[999] < 10 < 1000 <= seen[1000]
        assert seen[2000] > seen[1999] >= seen[1000]
