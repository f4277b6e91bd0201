"""Print rows as a table for people, or as JSON / CSV for machines; one shape for all three.

rich is imported only for table output, so machine formats and cron runs stay light.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from watcher.domain.document import IDENTITY_COLUMN

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
_FOLD_BEYOND = 30  # cells: a longer word in a table may be folded over lines

STATUS_LABEL = {
    "available": "Available",
    "preview": "Preview",
    "not_available": "Not available",
    "mixed": "Mixed",
    "unknown": "Unknown",
}
STATUS_STYLE = {
    "available": "green",
    "preview": "yellow",
    "not_available": "red",
    "mixed": "magenta",
    "unknown": "bright_black",
}
SEVERITY_STYLE = {"info": "bright_black", "notice": "cyan", "warning": "bold red"}


def write_json(rows: Sequence[dict[str, Any]], out: TextIO) -> None:
    json.dump(list(rows), out, ensure_ascii=False, indent=2, default=str)
    out.write("\n")


def write_csv(rows: Sequence[dict[str, Any]], fields: Sequence[str], out: TextIO) -> None:
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
    rows: Sequence[dict[str, Any]],
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
    else:
        print_table(rows, table_fields or fields, title=title, out=out)


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
    from rich.text import Text

    # A table narrower than its natural width wraps its cells at spaces. Timestamps never
    # wrap; other text folds rather than losing characters to an ellipsis, but only a word
    # longer than _FOLD_BEYOND (a URL, a list of resource IDs) is cut into pieces. A table
    # that cannot fit on those terms is shown one record at a time instead (psql's expanded
    # display), where every value keeps its whole width.
    cells = [[_cell(f, row.get(f)) for f in fields] for row in rows]
    table = Table(title=title, show_lines=False)
    needed = 3 * len(fields) + 1  # borders, and one space of padding each side of a cell
    for i, f in enumerate(fields):
        shown = [Text.from_markup(r[i]).plain for r in cells]
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


def _cell(field: str, value: Any) -> str:
    if value is None:
        return ""
    text = str(value).replace("[", r"\[")
    if field in ("status", "old_status", "new_status") and value in STATUS_STYLE:
        return f"[{STATUS_STYLE[value]}]{STATUS_LABEL[value]}[/]"
    if field == "severity" and value in SEVERITY_STYLE:
        return f"[{SEVERITY_STYLE[value]}]{text}[/]"
    return text


# The page's own header for the global column is "All Generally Available<br>Global Azure
# Regions": too long for a one-line message, so known clouds get their short names.
CLOUD_LABEL = {
    "global": "Global Azure",
    "usgov": "Azure Government",
    "germany": "Azure Germany",
    "china": "Azure China",
}


def column_label(row: dict[str, Any]) -> str:
    if row.get("column") == IDENTITY_COLUMN:
        return ""  # the row, an identity type, says it all: "User assigned"
    label = CLOUD_LABEL.get(row.get("column") or "") or str(row.get("column_label") or "")
    return label.replace("<br>", " ")


def describe_change(row: dict[str, Any]) -> str:
    """One line a person reads: "User assigned · Azure Government: Preview → Available"."""
    kind = str(row["kind"])
    where = " · ".join(p for p in (row.get("row_label"), column_label(row)) if p)
    if kind in ("status_changed", "value_changed"):
        old = _status_text(row, "old")
        new = _status_text(row, "new")
        return f"{where}: {old} → {new}"
    if kind == "link_changed":
        old = ", ".join(row.get("old_links") or ()) or "(no link)"
        new = ", ".join(row.get("new_links") or ()) or "(no link)"
        return f"{where} link: {old} → {new}"
    if kind == "entity_renamed":
        return f"renamed from {row.get('old_entity')!r}"
    if kind == "entity_moved":
        old = row.get("old_section") or "(no heading)"
        if not row.get("entity"):
            return f"section heading changed from {old!r}"
        return f"moved from section {old!r}"
    if kind in ("attribute_added", "attribute_removed"):
        verb = "added" if kind == "attribute_added" else "removed"
        return f"{where or row.get('column') or row.get('row')} {verb}"
    if kind == "format_changed":
        return f"page format changed: {row.get('old_raw')} → {row.get('new_raw')}"
    return kind.replace("_", " ")


def _status_text(row: dict[str, Any], side: str) -> str:
    status = row.get(f"{side}_status")
    raw = row.get(f"{side}_raw")
    if row["kind"] == "value_changed" or status is None:
        return repr(raw or "")
    label = STATUS_LABEL.get(status, status)
    return label if status != "mixed" else f"{label} ({raw})"


def print_change_log(
    rows: Sequence[dict[str, Any]],
    out: TextIO | None = None,
    *,
    summaries: Mapping[int, Any] | None = None,
) -> None:
    """Changes grouped by snapshot pair and entity, old → new, coloured on a terminal.
    ``summaries`` (by change id: a line with ``text`` and ``listing``, from
    ``watcher.delivery.outbox.section_summaries``) replace a section change's one word."""
    summaries = summaries or {}
    out = out or sys.stdout
    console = _console(out)
    last_pair: tuple[Any, ...] | None = None
    last_entity: tuple[Any, ...] | None = None
    for row in rows:
        pair = (row["source"], row["from_snapshot"], row["to_snapshot"])
        if pair != last_pair:
            console.print(
                f"\n[bold]{row['source']}[/] snapshot {row['from_snapshot']} → "
                f"{row['to_snapshot']}  ({row['detected_at']})"
            )
            last_pair, last_entity = pair, None
        entity = (row["section"], row["entity"])
        if entity != last_entity:
            name = row["entity"] or row["section"] or "(page)"
            console.print(f"  [bold]{_esc(name)}[/]")
            last_entity = entity
        style = SEVERITY_STYLE.get(row["severity"], "")
        summary = summaries.get(row["id"])
        text = summary.text if summary is not None else describe_change(row)
        console.print(f"    [{style}]{row['severity']:<7}[/] {_esc(text)}")
        for item in summary.listing if summary is not None else ():
            console.print(f"              {_esc(item)}")
    if not rows:
        console.print("no changes")


def _esc(text: str) -> str:
    return text.replace("[", r"\[")
