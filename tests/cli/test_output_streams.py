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
