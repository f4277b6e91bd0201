"""Print rows as a table for people, or as JSON / CSV for machines; one shape for all three.

``--format table`` is a rich table on a terminal; to a pipe it is plain rows, one line each,
streamed as they are read (``write_plain``), and the change log plain lines. rich is imported
only for a terminal, so pipes, machine formats and cron runs stay light.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import unicodedata
from _json import make_encoder  # json's own C encoder, as json.dumps uses it
from collections.abc import Iterable, Iterator, Mapping, Sequence
from json.encoder import encode_basestring as _json_string
from typing import TYPE_CHECKING, Any, TextIO

from watcher.audit.changes import describe_change
from watcher.domain.describe import STATUS_LABEL, one_line, visible

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
SEVERITY_STYLE = {"info": "bright_black", "notice": "cyan", "warning": "bold red"}


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

_BATCH = 1000  # rows encoded at a time: memory stays flat, and the encoder is called rarely
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
        if count == _BATCH:
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
        if len(batch) >= _BATCH:
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


# --- plain rows, for a pipe ---------------------------------------------------------------

_GAP = "  "  # between the columns of a plain row
# A longer value pushes the rest of its line along rather than widening its column for every
# row (one long cell of the page would pad each line of `state` by 200 spaces).
_PLAIN_WIDEST = 40


def write_plain(rows: Iterable[dict[str, Any]], fields: Sequence[str], out: TextIO) -> None:
    """A table to a pipe: a header line of the field names, then one line per row, its
        values as a terminal's table shows them (statuses by their labels, page text on one
        line), left-aligned in columns two spaces apart. Rows are written a batch at a time as
        they come, so ``| head`` answers at once and memory stays flat; each batch is aligned to
        the widest value seen so far (up to _PLAIN_WIDEST columns: a longer one pushes the rest of
    its line along), so a column only ever widens, at a batch's start. For
        scripts, ``--format csv`` or ``json`` are exact; this is for grep, less and eyes."""
    widths = [_width(f) for f in fields]
    batch: list[list[str]] = [list(fields)]
    for row in rows:
        batch.append([_plain(f, row.get(f)) for f in fields])
        if len(batch) >= _BATCH:
            _write_plain_batch(batch, widths, out)
    _write_plain_batch(batch, widths, out)


def _write_plain_batch(batch: list[list[str]], widths: list[int], out: TextIO) -> None:
    if not batch:
        return
    cells = [[(value, _width(value)) for value in line] for line in batch]
    for line in cells:
        for i, (_, width) in enumerate(line):
            if widths[i] < width <= _PLAIN_WIDEST:
                widths[i] = width
    last = len(widths) - 1
    out.write(
        "".join(
            _GAP.join(
                value if i == last else value + " " * max(0, widths[i] - width)
                for i, (value, width) in enumerate(line)
            ).rstrip()
            + "\n"
            for line in cells
        )
    )
    batch.clear()


def _plain(field: str, value: Any) -> str:
    """A plain row's value: what the terminal's table cell shows, on one line."""
    if value is None:
        return ""
    if field in ("status", "old_status", "new_status") and value in STATUS_LABEL:
        return STATUS_LABEL[value]
    return one_line(str(value))


def _width(text: str) -> int:
    """How many columns a terminal gives the text: two for a wide (East Asian) character,
    none for a combining mark."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _console(out: TextIO) -> Any:
    from rich.console import Console

    console: Any = Console(
        file=out, highlight=False, soft_wrap=False, width=None if out.isatty() else 200
    )
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
    if field in ("status", "old_status", "new_status") and value in STATUS_STYLE:
        return Text(STATUS_LABEL[value], style=STATUS_STYLE[value])
    if field == "severity" and value in SEVERITY_STYLE:
        return Text(str(value), style=SEVERITY_STYLE[value])
    return Text(visible(str(value)))


def print_change_log(
    rows: Iterable[dict[str, Any]],
    out: TextIO | None = None,
    *,
    summaries: Mapping[int, Any] | None = None,
) -> None:
    """Changes grouped by snapshot pair and entity, old → new, coloured on a terminal and
    plain lines to a pipe. ``summaries`` (by change id: a described line, from
    ``watcher.delivery.outbox.section_summaries``) replace a section change's bare line with
    one that counts and lists its entities."""
    out = out or sys.stdout
    lines = _change_log_lines(rows, {} if summaries is None else summaries)
    if not out.isatty():
        for batch in _batches(lines):
            out.write("".join("".join(text for text, _ in line) + "\n" for line in batch))
        return
    from rich.text import Text

    console = _console(out)
    for line in lines:
        console.print(Text.assemble(*line))


Segments = list[tuple[str, str]]  # a line of the change log: (text, rich style) pieces


def _change_log_lines(
    rows: Iterable[dict[str, Any]], summaries: Mapping[int, Any]
) -> Iterator[Segments]:
    """The change log's lines, each as styled pieces of text (page text made visible and
    kept on its line): one layout for the terminal and the pipe."""
    last_pair: tuple[Any, ...] | None = None
    last_entity: tuple[Any, ...] | None = None
    for row in rows:
        pair = (row["source"], row["from_snapshot"], row["to_snapshot"])
        if pair != last_pair:
            yield []
            yield [
                (one_line(row["source"]), "bold"),
                (
                    f" snapshot {row['from_snapshot']} → {row['to_snapshot']}  "
                    f"({row['detected_at']})",
                    "",
                ),
            ]
            last_pair, last_entity = pair, None
        entity = (row["section"], row["entity"])
        if entity != last_entity:
            name = row["entity"] or row["section"] or "(page)"
            yield [("  ", ""), (one_line(name), "bold")]
            last_entity = entity
        summary = summaries.get(row["id"])
        text = summary.text if summary is not None else describe_change(row)
        yield [
            ("    ", ""),
            (f"{row['severity']:<7}", SEVERITY_STYLE.get(row["severity"], "")),
            (" " + one_line(text), ""),
        ]
        for item in summary.listing if summary is not None else ():
            yield [("              " + one_line(item), "")]
    if last_pair is None:
        yield [("no changes", "")]


def _batches(lines: Iterable[Segments]) -> Iterator[list[Segments]]:
    batch: list[Segments] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _esc(text: str) -> str:
    """Page text for a line of rich markup: shown as itself, whatever brackets and
    backslashes it holds."""
    from rich.markup import escape

    return escape(visible(text))
