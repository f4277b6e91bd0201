"""The page's state laid out as tables a person scans: one table per section, an entity per
line, a column per (row, column) key pair of the page.

The matrix era's section becomes entity × identity type × cloud (a header over each identity
type's clouds); today's page becomes its service list (entity × documentation) and its
resource types × identity type. Pure: it reads ``watcher.audit.state.state_rows`` rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

Key = tuple[str, str]  # (row key, column key)


@dataclass
class Column:
    row: str
    column: str
    row_label: str
    column_label: str
    # The part of a cell's timeline link that names this column: built once per column, not
    # once per cell (a page has hundreds of cells).
    query: str = field(init=False)

    def __post_init__(self) -> None:
        self.query = f"&row={quote(self.row, safe='')}&column={quote(self.column, safe='')}"


@dataclass
class Line:
    """One entity of a table: its cells by (row key, column key)."""

    entity: str
    href: str  # the entity's timeline; a cell's adds its column's query
    cells: dict[Key, Mapping[str, Any]] = field(default_factory=dict)

    def cell(self, column: Column) -> Mapping[str, Any] | None:
        return self.cells.get((column.row, column.column))


@dataclass
class Table:
    source: str
    section: str
    snapshot: int
    columns: list[Column] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    def header_groups(self) -> list[tuple[str, int]]:
        """The upper header line: each row label over the number of its columns, when some
        row label has more than one column (the matrix's identity type over its clouds);
        empty when one line of header says it all."""
        groups: list[tuple[str, int]] = []
        for c in self.columns:
            if groups and groups[-1][0] == c.row_label:
                groups[-1] = (c.row_label, groups[-1][1] + 1)
            else:
                groups.append((c.row_label, 1))
        return groups if any(n > 1 for _, n in groups) else []

    def label(self, column: Column) -> str:
        """The one-line header of a column: the column label under a group header, else the
        row label with the column label (or whichever the page gives)."""
        if self.header_groups():
            return column.column_label or column.column
        if column.row_label and len({c.column for c in self.columns}) == 1:
            return column.row_label
        return " · ".join(p for p in (column.row_label, column.column_label) if p) or column.column


def tables(rows: Iterable[Mapping[str, Any]]) -> list[Table]:
    """The state rows, in page order, as one table per source and section."""
    found: dict[tuple[str, str], Table] = {}
    lines: dict[tuple[str, str, str], Line] = {}
    seen: dict[tuple[str, str], set[Key]] = {}
    for r in rows:
        at = (r["source"], r["section"])
        table = found.get(at)
        if table is None:
            table = found[at] = Table(r["source"], r["section"], r["snapshot"])
            seen[at] = set()
        key = (r["row"], r["column"])
        if key not in seen[at]:
            seen[at].add(key)
            table.columns.append(Column(r["row"], r["column"], r["row_label"], r["column_label"]))
        line = lines.get((*at, r["entity"]))
        if line is None:
            source, entity = quote(r["source"], safe=""), quote(r["entity"], safe="")
            href = f"/history?source={source}&entity={entity}"
            line = lines[(*at, r["entity"])] = Line(r["entity"], href)
            table.lines.append(line)
        line.cells[key] = r
    for table in found.values():
        _group_columns(table)
    # Built here, not in the template: a page has hundreds of cells, each with a link.
    return list(found.values())


def _group_columns(table: Table) -> None:
    """Columns of one row key side by side (a page lists them row by row per entity, so an
    entity missing a cell could interleave them), keeping the page's order otherwise."""
    first: dict[str, int] = {}
    for i, c in enumerate(table.columns):
        first.setdefault(c.row, i)
    table.columns.sort(key=lambda c: first[c.row])
