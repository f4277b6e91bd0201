"""The one table extractor: an article's HTML (rendered from markdown or published) to Records.

It walks the article's H1/H2/H3 headings and tables in document order; the current H2 is
the section and the current H3 the entity. Each table is read in one of two shapes:

* keyed — a table under an entity heading whose rows are labels (the per-cloud matrix:
  System assigned / User assigned × clouds; the Cloud / Resource ID / Status tables):
  one record per (row label, column);
* flat — a table of entities (Service name / Documentation; Namespace / ResourceType /
  Identity types): the first cell names the entity, one record per other column — except
  an identity-types column, whose cell gives one status record per identity type (row
  ``system_assigned`` / ``user_assigned``, see ``vocabulary.identity_types``).

A record's key must be unique in the document, because the diff pairs records by key: a
cell that would collide is renamed (" (2)") and reported, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from selectolax.lexbor import LexborNode, create_tag

from watcher.domain.document import IDENTITY_COLUMN, Record, Status
from watcher.parse.links import Resolver
from watcher.parse.vocabulary import (
    BR,
    IDENTITY_ROWS,
    canonical_column,
    canonical_row,
    classify,
    identity_types,
    normalize,
)

Cell = tuple[str, tuple[str, ...]]  # (text, hrefs)
# What a column holds: text (a documentation link, a namespace), a status, or identity types.
Holds = Literal["text", "status", "identity"]
Column = tuple[str, str, Holds]  # (label, key, what it holds)
_EMPTY: Cell = ("", ())

# First header cells that name the shape outright; any other table is keyed when it sits
# under an entity heading (a translated matrix keeps its shape) and flat otherwise.
_KEYED_FIRST = frozenset({"managedidentitytype", "cloud"})
_FLAT_FIRST = frozenset({"service", "servicename", "namespace", "resourceprovider"})


def _ids(*tags: str) -> frozenset[int]:
    # Tag ids rather than tag names in the hot loops: reading .tag builds a string.
    return frozenset(create_tag(tag).tag_id for tag in tags)


_TEXT = 2  # lexbor's LXB_TAG__TEXT: a text node has no tag to create
_IMG, _BR, _A = (create_tag(tag).tag_id for tag in ("img", "br", "a"))
_CELL = _ids("td", "th")
_ROW = create_tag("tr").tag_id
_ROW_GROUP = _ids("thead", "tbody", "tfoot")
_NOT_ARTICLE = _ids("table", "nav", "aside", "footer")
# Block elements inside a cell still separate words.
_SPACED = _ids("p", "div", "li", "ul", "ol", "table", "tr", "td", "th", "h4", "h5", "h6")


@dataclass(frozen=True, slots=True)
class Extraction:
    records: tuple[Record, ...]
    tables: int
    warnings: tuple[str, ...]
    h1: str | None


def cell_text(node: LexborNode) -> Cell:
    """A cell's text and the hrefs of its links in order.

    Whitespace collapsed, image alt text as text, ``<br>`` separating non-empty parts,
    block elements separating words. This is the parser's hot loop (hundreds of cells a
    page), so the common cells, one text node or one image, skip the subtree walk.
    """
    only = node.first_child
    if only is None:
        return "", ()
    if only.next is None:
        tag = only.tag_id
        if tag == _TEXT:
            return " ".join((only.text_content or "").split()), ()
        if tag == _IMG:
            return " ".join((only.attrs.get("alt") or "").split()), ()
    parts: list[str] = []
    buf: list[str] = []
    links: list[str] = []
    for n in node.traverse(include_text=True):
        tag = n.tag_id
        if tag == _TEXT:
            buf.append(n.text_content or "")
        elif tag == _BR:
            parts.append("".join(buf))
            buf = []
        elif tag == _IMG:
            buf.append(n.attrs.get("alt") or "")
        elif tag == _A:
            href = n.attrs.get("href")
            if href:
                links.append(href)
        elif tag in _SPACED:
            buf.append(" ")
    parts.append("".join(buf))
    return BR.join(p for p in (" ".join(part.split()) for part in parts) if p), tuple(links)


def heading_text(node: LexborNode) -> str:
    return " ".join((node.text(deep=True) or "").split())


def _rows(table: LexborNode) -> list[list[Cell]]:
    # This table's own rows only, so that a table nested in a cell adds no rows here.
    rows: list[list[Cell]] = []
    for child in table.iter():
        tag = child.tag_id
        if tag in _ROW_GROUP:
            trs = [tr for tr in child.iter() if tr.tag_id == _ROW]
        else:
            trs = [child] if tag == _ROW else []
        for tr in trs:
            row: list[Cell] = []
            for cell in tr.iter():
                if cell.tag_id not in _CELL:
                    continue
                # Inlined fast path of cell_text: one text node, or nothing.
                only = cell.first_child
                if only is None:
                    row.append(_EMPTY)
                elif only.next is None and only.tag_id == _TEXT:
                    row.append((" ".join((only.text_content or "").split()), ()))
                else:
                    row.append(cell_text(cell))
            rows.append(row)
    return rows


def _outside_article(node: LexborNode) -> bool:
    """Inside another table, or inside navigation, an aside or a footer: the site's
    "In this article" outline has its own H2 and must not become a section."""
    parent = node.parent
    while parent is not None:
        if parent.tag_id in _NOT_ARTICLE:
            return True
        parent = parent.parent
    return False


@dataclass
class _Walk:
    section: str = ""
    section_key: str = ""
    entity: str = ""
    tables: int = 0
    h1: str | None = None
    records: list[Record] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    resolve: Resolver = field(default_factory=Resolver)
    # (section_key, entity_key) pairs already given to a table or a flat row.
    claimed: set[tuple[str, str]] = field(default_factory=set)

    def heading(self, section: str, entity: str = "") -> None:
        self.section, self.section_key, self.entity = section, normalize(section), entity

    def where(self) -> str:
        heading = " › ".join(h for h in (self.section, self.entity) if h)
        return f"table {self.tables}" + (f" under '{heading}'" if heading else "")

    def claim(self, entity: str) -> tuple[str, str]:
        """``entity`` and its key, or ``entity (n)`` when it is already taken here."""
        name, n = entity, 1
        while (self.section_key, normalize(name)) in self.claimed:
            n += 1
            name = f"{entity} ({n})"
        if n > 1:
            self.warnings.append(
                f"{self.where()}: '{entity}' appears again in this section; read as '{name}'"
            )
        key = normalize(name)
        self.claimed.add((self.section_key, key))
        return name, key

    def unique(
        self, labels: list[str], key: Callable[[str], str], what: str
    ) -> tuple[list[str], list[str]]:
        """Labels made unique by key within one table (``X``, ``X (2)``), with their keys."""
        keys = [key(label) for label in labels]
        if len(set(keys)) == len(keys):
            return labels, keys
        seen: set[str] = set()
        out: list[str] = []
        for label in labels:
            name, n = label, 1
            while key(name) in seen:
                n += 1
                name = f"{label} ({n})"
            if n > 1:
                self.warnings.append(f"{self.where()}: {what} '{label}' repeats; read as '{name}'")
            seen.add(key(name))
            out.append(name)
        return out, [key(name) for name in out]

    def emit(
        self,
        entity: tuple[str, str],
        row: tuple[str, str],
        cells: list[Cell],
        columns: tuple[Column, ...],
    ) -> None:
        """One record per (cell, column); a column is (label, key, what it holds)."""
        section, section_key = self.section, self.section_key
        for (raw, hrefs), (column, column_key, holds) in zip(cells, columns, strict=True):
            links = self.resolve.all(hrefs) if hrefs else ()
            if holds == "identity":
                self.identities(entity, raw, (column, column_key))
                continue
            status: Status | None = None
            parts: tuple[tuple[str, str], ...] = ()
            if holds == "status":
                status, parts = classify(raw)
            # Positional: this runs once per cell and keyword passing costs measurably.
            self.records.append(
                Record(
                    section, entity[0], row[0], column, raw, status,
                    section_key, entity[1], row[1], column_key, parts, links,
                )
            )  # fmt: skip

    def identities(self, entity: tuple[str, str], raw: str, column: tuple[str, str]) -> None:
        """One status record per identity type of an identity-types cell."""
        found = identity_types(raw)
        if found[0][2] == "unknown":
            what = "lists no identity types" if not raw else f"reads {raw!r}"
            self.warnings.append(
                f"{self.where()}: '{entity[0]}' {what}: its identity types read as unknown"
            )
        for (row_key, part, status), (_, row_label) in zip(found, IDENTITY_ROWS, strict=True):
            self.records.append(
                Record(
                    self.section, entity[0], row_label, column[0], part, status,
                    self.section_key, entity[1], row_key, column[1],
                )
            )  # fmt: skip


def _table(table: LexborNode, walk: _Walk) -> None:
    rows = _rows(table)
    if not rows:
        return
    header = [text for text, _ in rows[0]]
    width = len(header)
    body: list[list[Cell]] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            walk.warnings.append(
                f"{walk.where()}: row {number} has {len(row)} cells, header has {width}: "
                + ("extra cells ignored" if len(row) > width else "missing cells read as empty")
            )
            row = row[:width] + [("", ())] * (width - len(row))
        # A row with nothing in it carries no cell worth tracking.
        for text, links in row:
            if text or links:
                body.append(row)
                break
    if not body or width == 0:
        return

    plan = _plan(tuple(header), bool(walk.entity))
    if plan is None:
        labels = walk.unique(header, canonical_column, "column")[0]
        plan = _plan(tuple(labels), bool(walk.entity))
    assert plan is not None  # unique() made the column keys distinct
    keyed, columns = plan
    if keyed:
        entity = walk.claim(walk.entity)
        row_labels, row_keys = walk.unique([row[0][0] for row in body], canonical_row, "row")
        for label, row_key, row in zip(row_labels, row_keys, body, strict=True):
            walk.emit(entity, (label, row_key), row[1:], columns[1:])
        return
    names = [row[0][0] for row in body]
    start = 1
    if len({normalize(n) for n in names}) < len(names) and width >= 3:
        # Namespace | ResourceType | …: the namespace repeats, the pair names the entity.
        names = [f"{row[0][0]}/{row[1][0]}" for row in body]
        start = 2
    for name, row in zip(names, body, strict=True):
        walk.emit(walk.claim(name), ("", ""), row[start:], columns[start:])


@lru_cache(maxsize=256)
def _plan(header: tuple[str, ...], under_entity: bool) -> tuple[bool, tuple[Column, ...]] | None:
    """How to read a table with this header: keyed or flat, and each column's key and
    whether it holds statuses. None when two columns share a key. Cached: most of the
    page's tables share one of a few headers."""
    keys = [canonical_column(label) for label in header]
    if len(set(keys)) < len(keys):
        return None
    first = normalize(header[0])
    keyed = first in _KEYED_FIRST or (first not in _FLAT_FIRST and under_entity)
    holds: list[Holds] = [
        "status" if key == "status" else "identity" if key == IDENTITY_COLUMN else "text"
        for key in keys
    ]
    if keyed:
        # One record per (row, column) there: an identity-types cell's per-type records
        # would all share one row key, so under a row label it is read as text.
        holds = ["text" if h == "identity" else h for h in holds]
    if keyed and "status" not in holds:
        # The matrix: every column but the row label is a cloud's status.
        holds = ["status"] * len(keys)
    return keyed, tuple(zip(header, keys, holds, strict=True))


def extract(root: LexborNode, resolve: Resolver | None = None) -> Extraction:
    """Records of every table under ``root``, in page order; ``resolve`` puts each link in
    its normal form (see ``watcher.parse.links``)."""
    walk = _Walk(resolve=resolve or Resolver())
    for node in root.css("h1, h2, h3, table"):
        if _outside_article(node):
            continue
        tag = node.tag
        if tag == "table":
            walk.tables += 1
            _table(node, walk)
        elif tag == "h3":
            walk.entity = heading_text(node)
        elif tag == "h2":
            walk.heading(heading_text(node))
        else:
            if walk.h1 is None:
                walk.h1 = heading_text(node)
            walk.heading("")
    return Extraction(tuple(walk.records), walk.tables, tuple(walk.warnings), walk.h1)
