"""What a listing writes to a pipe: plain rows, and the change log's lines.

``--format table`` is a rich table on a terminal (watcher.cli.output); to a pipe the same
listing is plain rows, one line each, streamed a batch at a time as the query reads them, so
``| head`` answers at once and memory stays flat. The change log has one layout for both:
``change_log_lines`` gives its lines as styled pieces, which the terminal colours and the
pipe writes as they are. No rich here: a pipe never imports it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

from watcher.audit.changes import describe_change
from watcher.domain.describe import STATUS_LABEL, one_line

T = TypeVar("T")

BATCH = 1000  # rows read, formatted and written at a time: memory stays flat
_GAP = "  "  # between the columns of a plain row
# A column widens to fit any value up to this wide; beyond, only as far as nine values in ten
# of a batch need: one long cell (a list of resource IDs) pushes the rest of its own line
# along rather than padding every line of `state` by 200 spaces, while a column whose values
# are all long (`parse`'s section names) still lines up under its header.
_PLAIN_WIDEST = 40
STATUS_FIELDS = ("status", "old_status", "new_status")  # shown by their labels
SEVERITY_STYLE = {"info": "bright_black", "notice": "cyan", "warning": "bold red"}


def batched(items: Iterable[T], size: int = BATCH) -> Iterator[list[T]]:
    """The items in lists of ``size`` (the last one shorter), read as they come (Python
    3.11 has no itertools.batched)."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def write_plain(rows: Iterable[dict[str, Any]], fields: Sequence[str], out: TextIO) -> None:
    """A listing to a pipe: a header line of the field names, then one line per row, its
    values as a terminal's table shows them (statuses by their labels, page text on one
    line), left-aligned in columns two spaces apart. Written a batch at a time as the rows
    come; each batch is aligned to the widest values seen so far (see _PLAIN_WIDEST), so a
    column only ever widens, at a batch's start. For scripts, ``--format csv`` or ``json``
    are exact; this is for grep, less and eyes."""
    widths = [0] * len(fields)
    header = [list(fields)]  # written with the first batch, aligned with it
    for batch in batched(rows):
        _write_batch(
            header + [[_plain(f, row.get(f)) for f in fields] for row in batch], widths, out
        )
        header = []
    if header:
        _write_batch(header, widths, out)


def _write_batch(lines: list[list[str]], widths: list[int], out: TextIO) -> None:
    cells = [[(value, _width(value)) for value in line] for line in lines]
    for i, width in enumerate(widths):
        found = sorted(line[i][1] for line in cells)
        most = found[(len(found) - 1) * 9 // 10]  # what nine values in ten fit in
        cap = max(most, _PLAIN_WIDEST)
        widths[i] = max(width, max(w for w in found if w <= cap))
    last = len(widths) - 1
    out.write(
        "".join(
            _GAP.join(
                value if i == last else value + " " * (widths[i] - width)
                for i, (value, width) in enumerate(line)
            ).rstrip(" ")
            + "\n"
            for line in cells
        )
    )


def _plain(field: str, value: Any) -> str:
    """A plain row's value: what the terminal's table cell shows, on one line."""
    if value is None:
        return ""
    if field in STATUS_FIELDS and value in STATUS_LABEL:
        return STATUS_LABEL[value]
    return one_line(str(value))


def _width(text: str) -> int:
    """How many columns a terminal gives the text: two for a wide (East Asian) character,
    none for a combining, enclosing or format character (a zero-width space, a variation
    selector) or a Hangul vowel or final consonant joined to its syllable."""
    if text.isascii():
        return len(text)
    return sum(_char_width(ch) for ch in text)


def _char_width(ch: str) -> int:
    if unicodedata.category(ch) in ("Mn", "Me", "Cf") and ch != "\u00ad":
        return 0  # (a soft hyphen shows where it is)
    if "\u1160" <= ch <= "\u11ff":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


# --- the change log ---------------------------------------------------------------------

Segments = list[tuple[str, str]]  # a line of the change log: (text, rich style) pieces


def change_log_lines(rows: Iterable[tuple[dict[str, Any], Any]]) -> Iterator[Segments]:
    """The change log's lines, grouped by snapshot pair and entity, old → new, from each
    change with its summary (a described line, from
    ``watcher.delivery.outbox.section_summaries``, that counts and lists a section's
    entities in place of a section change's bare line; else None). Each line is styled
    pieces of text, page text made visible and kept on its line: one layout for the
    terminal and the pipe."""
    last_pair: tuple[Any, ...] | None = None
    last_entity: tuple[Any, ...] | None = None
    for row, summary in rows:
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
        text = summary.text if summary is not None else describe_change(row)
        yield [
            ("    ", ""),
            (f"{row['severity']:<7}", SEVERITY_STYLE.get(row["severity"], "")),
            (" " + one_line(text), ""),
        ]
        for item in summary.listing if summary is not None else ():
            yield [("              " + one_line(item), "")]


def write_change_log(lines: Iterable[Segments], out: TextIO) -> int:
    """The change log's lines to a pipe, as plain text, a batch at a time; how many."""
    count = 0
    for batch in batched(lines):
        out.write("".join("".join(text for text, _ in line) + "\n" for line in batch))
        count += len(batch)
    return count
