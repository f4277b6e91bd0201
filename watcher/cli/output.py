"""Print rows as a table for people, or as JSON / CSV for machines; one shape for all three.

``--format table`` is a rich table on a terminal; to a pipe it is plain rows, one line each,
and the change log plain lines (watcher.cli.plain). rich is imported only for a terminal, so
pipes, machine formats and cron runs stay light.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from _json import make_encoder  # json's own C encoder, as json.dumps uses it
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import encode_basestring as _json_string
from typing import TYPE_CHECKING, Any, TextIO

from watcher.cli.plain import (
    BATCH,
    SEVERITY_STYLE,
    STATUS_FIELDS,
    change_log_lines,
    write_change_log,
    write_plain,
)
from watcher.domain.describe import STATUS_LABEL, visible

if TYPE_CHECKING:
    from rich.text import Text

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
_FOLD_BEYOND = 30  # cells: a longer word in a table may be folded over lines

STATUS_STYLE = {
    "available": "green",
    "preview": "yellow",
    "not_available": "red",
    "mixed": "magenta",
    "unknown": "bright_black",
}


# On a terminal a listing shows this many rows, newest first, unless --limit says otherwise;
# piped (or as JSON or CSV) it lists every row in the log's order, as scripts expect.
TERMINAL_ROWS = 50


def for_a_person(fmt: str) -> bool:
    """Whether a listing goes to a person: a table on a terminal."""
    return fmt == "table" and sys.stdout.isatty()


def say_more(shown: int, what: str, command: str, *, limit: bool = True) -> None:
    """The line under a terminal's listing that was cut: how to see the rest."""
    more = "--limit N shows more; " if limit else ""
    print(
        f"watcher: the newest {shown} {what} are shown; {more}piped "
        f"(watcher {command} | less) or with --format json it lists them all",
        file=sys.stderr,
    )


def write_json(rows: Iterable[dict[str, Any]], out: TextIO) -> None:
    """A JSON array of the rows, written row by row as they come (memory stays flat), the
    same bytes as ``json.dump(list(rows), out, ensure_ascii=False, indent=2, default=str)``."""
    opening = "[\n"
    for row in rows:
        out.write(opening)
        out.write(_json_object(row))
        opening = ",\n"
    out.write("[]\n" if opening == "[\n" else "\n]\n")


# json's C encoder does not indent, but takes any separators: one that starts each member
# on a line of its own writes a flat object as indent=2 does, four times faster than json's
# pure-Python indenting encoder. Objects holding a non-empty array or object (which would
# need their own lines) go through the general path.
_FLAT = json.JSONEncoder(ensure_ascii=False, separators=(",\n    ", ": "), default=str)
_NESTED = (list, tuple, dict)


def _json_object(row: Mapping[str, Any]) -> str:
    """One row as json.dump's indent=2 writes an element of a top-level list."""
    if not row or any(type(key) is not str for key in row):
        return "  " + json.dumps(row, ensure_ascii=False, indent=2, default=str).replace(
            "\n", "\n  "
        )
    if not any(v and type(v) in _NESTED for v in row.values()):
        return "  {\n    " + _FLAT.encode(row)[1:-1] + "\n  }"
    parts = []
    for key, value in row.items():
        if value and type(value) in _NESTED:  # indented two levels deeper, as json.dump does
            text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
            text = text.replace("\n", "\n    ")
        else:
            text = _FLAT.encode(value)
        parts.append(f"    {_json_string(key)}: {text}")
    return "  {\n" + ",\n".join(parts) + "\n  }"


# --- long listings, written from lists of values ---------------------------------------

# json's C encoder (the one json.dumps calls) with a separator no encoded value holds: a NUL
# is always escaped inside a JSON string, so splitting on it gives each value's own text.
_VALUES = make_encoder(None, str, _json_string, None, ": ", "\x00", False, False, True)


def write_json_values(
    rows: Iterable[Sequence[Any]],
    fields: Sequence[str],
    out: TextIO,
    *,
    arrays: Sequence[str] = (),
) -> None:
    """``write_json`` of ``dict(zip(fields, row))`` for each row, the same bytes, several
    times faster: a batch of rows is encoded by one call of the C encoder and its values
    set into a template of the keys, with no dict per row. Every value is a scalar (text,
    number, bool, None, or what ``str`` writes) but in the ``arrays`` fields, which hold
    lists (a row with a non-empty one takes ``write_json``'s path). Memory stays flat."""
    if not fields:
        write_json(({} for _ in rows), out)
        return
    nested = [fields.index(name) for name in arrays]
    keys = [_json_string(k).replace("%", "%%") for k in fields]  # a key's own % is text
    one = "  {\n" + ",\n".join(f"    {k}: %s" for k in keys) + "\n  }"
    templates: dict[int, str] = {}
    flat: list[Any] = []
    count = 0
    opening = "[\n"

    def flush() -> None:
        nonlocal count, opening
        parts = "".join(_VALUES(flat, 0))[1:-1].split("\x00")
        template = templates.get(count)
        if template is None:
            template = templates[count] = ",\n".join([one] * count)
        out.write(opening + template % tuple(parts))
        opening = ",\n"
        flat.clear()
        count = 0

    for row in rows:
        if nested and any([row[i] for i in nested]):
            if count:
                flush()
            out.write(opening + _json_object(dict(zip(fields, row, strict=True))))
            opening = ",\n"
            continue
        flat.extend(row)
        count += 1
        if count == BATCH:
            flush()
    if count:
        flush()
    out.write("[]\n" if opening == "[\n" else "\n]\n")


def write_csv_values(
    rows: Iterable[Sequence[Any]],
    fields: Sequence[str],
    out: TextIO,
    *,
    arrays: Sequence[str] = (),
) -> None:
    """``write_csv`` of ``dict(zip(fields, row))`` for each row, the same bytes, written a
    batch of rows at a time; the ``arrays`` fields hold lists, each written as a JSON array
    in one cell."""
    # Each batch is written to a buffer, then to ``out`` at once: the csv writer writes each
    # row with a call of its own, which costs more on a real stdout than the row itself.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    nested = [fields.index(name) for name in arrays]
    batch: list[Sequence[Any]] = [fields]
    _write_csv_batch(writer, buffer, batch, out)  # the header, before the first row is read
    for row in rows:
        # The csv writer writes None as an empty cell and an empty list as "[]", as
        # write_csv does: only a non-empty array needs writing as JSON.
        if nested and any([row[i] for i in nested]):
            row = list(row)
            for i in nested:
                row[i] = _csv_value(row[i])
        batch.append(row)
        if len(batch) >= BATCH:
            _write_csv_batch(writer, buffer, batch, out)
    _write_csv_batch(writer, buffer, batch, out)


def _write_csv_batch(
    writer: Any, buffer: io.StringIO, batch: list[Sequence[Any]], out: TextIO
) -> None:
    writer.writerows(batch)
    out.write(buffer.getvalue())
    buffer.seek(0)
    buffer.truncate()
    batch.clear()


def write_csv(rows: Iterable[dict[str, Any]], fields: Sequence[str], out: TextIO) -> None:
    writer = csv.DictWriter(
        out, fieldnames=list(fields), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in fields})


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return json.dumps(list(value), ensure_ascii=False)  # links: a JSON array in one cell
    return value


def emit(
    rows: Iterable[dict[str, Any]],
    fields: Sequence[str],
    fmt: str,
    *,
    table_fields: Sequence[str] | None = None,
    title: str | None = None,
    out: TextIO | None = None,
) -> None:
    out = out or sys.stdout
    if fmt == "json":
        write_json(rows, out)
    elif fmt == "csv":
        write_csv(rows, fields, out)
    elif not out.isatty():
        write_plain(rows, table_fields or fields, out)
    else:
        print_table(list(rows), table_fields or fields, title=title, out=out)


def _console(out: TextIO) -> Any:
    from rich.console import Console

    # (Only a terminal gets a console: a pipe's rows are plain, watcher.cli.plain.)
    console: Any = Console(file=out, highlight=False, soft_wrap=False)
    return console


def print_table(
    rows: Sequence[dict[str, Any]],
    fields: Sequence[str],
    *,
    title: str | None = None,
    out: TextIO,
) -> None:
    from rich.cells import cell_len
    from rich.table import Table

    # A table narrower than its natural width wraps its cells at spaces. Timestamps never
    # wrap; other text folds rather than losing characters to an ellipsis, but only a word
    # longer than _FOLD_BEYOND (a URL, a list of resource IDs) is cut into pieces. A table
    # that cannot fit on those terms is shown one record at a time instead (psql's expanded
    # display), where every value keeps its whole width.
    cells = [[_cell(f, row.get(f)) for f in fields] for row in rows]
    table = Table(title=title, show_lines=False)
    needed = 3 * len(fields) + 1  # borders, and one space of padding each side of a cell
    for i, f in enumerate(fields):
        shown = [r[i].plain for r in cells]
        stamp = any(_TIMESTAMP.match(v) for v in shown)
        longest = max(cell_len(word) for v in (f, *shown) for word in v.split() or [""])
        needed += longest if stamp else min(longest, _FOLD_BEYOND)
        table.add_column(f, no_wrap=stamp, overflow="fold")
    for r in cells:
        table.add_row(*r)
    console = _console(out)
    if rows and needed > console.width:
        _print_records(console, rows, fields, title)
        return
    console.print(table)
    if not rows:
        console.print("(none)")


def _print_records(
    console: Any, rows: Sequence[dict[str, Any]], fields: Sequence[str], title: str | None
) -> None:
    from rich.table import Table

    if title:
        console.print(f"[bold]{_esc(title)}[/]")
    for number, row in enumerate(rows, 1):
        console.print(f"-[ {number} ]" + "-" * max(0, console.width - len(str(number)) - 5))
        record = Table.grid(padding=(0, 2))
        record.add_column(no_wrap=True)
        record.add_column(overflow="fold")
        for f in fields:
            record.add_row(f, _cell(f, row.get(f)))
        console.print(record)


def _cell(field: str, value: Any) -> Text:
    """A table cell: page text as itself (never read as rich markup: an entity named
    ``\\[/foo]`` is shown, not parsed; a bidi override shows as U+FFFD, it reorders nothing),
    statuses and severities in their colours."""
    from rich.text import Text

    if value is None:
        return Text("")
    if field in STATUS_FIELDS and value in STATUS_STYLE:
        return Text(STATUS_LABEL[value], style=STATUS_STYLE[value])
    if field == "severity" and value in SEVERITY_STYLE:
        return Text(str(value), style=SEVERITY_STYLE[value])
    return Text(visible(str(value)))


def print_change_log(
    rows: Iterable[dict[str, Any]],
    out: TextIO | None = None,
    *,
    summaries: Mapping[int, Any] | None = None,
    none: Callable[[], str] = lambda: "no changes",
) -> None:
    """Changes grouped by snapshot pair and entity, old → new, coloured on a terminal and
    plain lines to a pipe. ``summaries`` (by change id: a described line, from
    ``watcher.delivery.outbox.section_summaries``) replace a section change's bare line with
    one that counts and lists its entities. ``none`` says what an empty log comes to."""
    found = summaries or {}
    print_summarized_log(((row, found.get(row["id"])) for row in rows), out, none=none)


def print_summarized_log(
    rows: Iterable[tuple[dict[str, Any], Any]],
    out: TextIO | None = None,
    *,
    none: Callable[[], str] = lambda: "no changes",
) -> None:
    """``print_change_log`` of each change paired with its summary (or None)."""
    out = out or sys.stdout
    lines = change_log_lines(rows)
    if not out.isatty():
        # None found is said on stderr: what a pipe reads (grep, wc -l) is changes only.
        if not write_change_log(lines, out):
            print(f"watcher: {none()}", file=sys.stderr)
        return
    from rich.text import Text

    console = _console(out)
    shown = False
    for line in lines:
        console.print(Text.assemble(*line))
        shown = True
    if not shown:
        console.print(Text(none()))


def _esc(text: str) -> str:
    """Page text for a line of rich markup: shown as itself, whatever brackets and
    backslashes it holds."""
    from rich.markup import escape

    return escape(visible(text))
