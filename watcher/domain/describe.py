"""A change in words: the one describer the terminal, Slack, email and ``watcher reparse`` use.

``describe(change)`` gives a ``Line``: a mark (promotion, regression, added, ...), the text a
person reads ("User assigned · Azure Government: Preview → Available") and its pieces, so a
channel can lay out the two sides of a cell change or the cells of an added entity its own
way. The words are chosen here once: a status by its label (``STATUS_LABEL``), a cloud by
its short name, a cell's text in quotes, a missing value as "(empty)".

Page text is untrusted. Everything taken from a page goes through ``clean``: no control
characters (CR/LF included), no bidirectional-text overrides, no lone surrogates from badly
encoded bytes. Messages cut long
values (``cut=True``, the default: the rest is in ``watcher changes``); the terminal and
reparse show them whole. Pure: no I/O, the same change always gives the same words.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from watcher.domain.document import IDENTITY_COLUMN, STATUS_RANK, Change, Record

# How each status reads, wherever a person sees it.
STATUS_LABEL: dict[str, str] = {
    "available": "Available",
    "preview": "Preview",
    "not_available": "Not available",
    "mixed": "Mixed",
    "unknown": "Unknown",
}

# The page's own header for the global column is "All Generally Available<br>Global Azure
# Regions": too long for a one-line message, so known clouds get their short names.
CLOUD_LABEL: dict[str, str] = {
    "global": "Global Azure",
    "usgov": "Azure Government",
    "germany": "Azure Germany",
    "china": "Azure China",
}

# How much of one page value a message quotes, and of one name.
MAX_VALUE = 300
MAX_NAME = 200
MAX_DETAIL_ROWS = 6  # rows listed under an added or removed entity

Mark = Literal[
    "promotion", "regression", "added", "removed", "renamed", "changed", "format", "info"
]


# --- cleaning page text -----------------------------------------------------------------

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"[ \t]{2,}")
# Bidirectional-text controls reorder what a reader sees ("gpj.exe" shown as "exe.jpg"): the
# embeddings, overrides and isolates show as U+FFFD where they were; the plain direction
# marks, which reorder nothing around them, are dropped.
_BIDI_CONTROL = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
_BIDI_MARK = re.compile(r"[\u200e\u200f\u061c]")


def visible(text: str) -> str:
    """Text whose characters show in the order they are stored: bidirectional embeddings,
    overrides and isolates as U+FFFD, direction marks dropped (the terminal's tables, which
    keep the rest of page text as it is, use this alone)."""
    if text.isascii():  # (every bidirectional control is outside ASCII: most text, at once)
        return text
    return _BIDI_MARK.sub("", _BIDI_CONTROL.sub("\ufffd", text))


def one_line(text: str) -> str:
    """``visible`` text kept on one line: each run of control characters (a newline, a
    tab) as one space, and nothing else changed (a pipe's plain rows, one line per row)."""
    if text.isascii() and text.isprintable():  # no control character, no bidi: at once
        return text
    return _CONTROL.sub(" ", visible(text))


def clean(text: str | None, limit: int | None = None, *, br: str = "; ") -> str:
    """One line of safe text: no control characters (CR/LF included), no bidirectional-text
    controls (an override shows as U+FFFD), no lone surrogates.

    Bytes that were not UTF-8 reach here as surrogate escapes; they become U+FFFD so the
    text can be encoded for JSON, mail and the terminal. ``<br>`` separators of a cell
    become ``br``. Over ``limit`` characters, the text is cut with an ellipsis.
    """
    if not text:
        return ""
    if limit is not None:
        # Page text can be huge; what survives the cut is at most `limit` characters, and
        # collapsing whitespace shrinks text by far less than this margin in practice.
        text = text[: limit * 4 + 64]
    if text.isascii() and text.isprintable() and "<" not in text and "  " not in text:
        text = text.strip()  # nothing below would change it (the common case: a status)
    else:
        text = visible(_SURROGATE.sub("\ufffd", text))
        text = _BR.sub(br, text)
        text = _CONTROL.sub(" ", text)
        text = _SPACES.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


# --- the line ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    column: str
    value: str  # a status word, or the cell's text when it is not a status cell
    status: str | None

    @property
    def quoted(self) -> str:
        return self.value if self.status is not None else f"“{self.value}”"


@dataclass(frozen=True)
class Detail:
    """One row of an added or removed entity: what its cells say."""

    row: str
    cells: tuple[Cell, ...]

    def text(self) -> str:
        cells = " · ".join(f"{c.column}: {c.quoted}" if c.column else c.quoted for c in self.cells)
        return f"{self.row}: {cells}" if self.row else cells


@dataclass(frozen=True)
class Line:
    mark: Mark
    text: str  # clean plain text; channels escape it their own way
    where: str = ""  # the row and column of a cell change
    old: str | None = None  # the two sides of a cell change
    new: str | None = None
    old_status: str | None = None
    new_status: str | None = None
    details: tuple[Detail, ...] = ()
    more: int = 0  # detail rows left out
    # False when the text only repeats the mark ("new on the page" beside "added"), so a
    # layout that shows the mark and the details can leave it out.
    headline: bool = True
    # A whole section added or removed: one line per entity it held, for the channels
    # that can list them all (email, the terminal); chat shows the counts in ``text`` only.
    listing: tuple[str, ...] = ()
    # What a digest's folding of several changes into this one hid ("via Preview", "changed
    # and changed back, via Preview"; watcher.domain.digest): ``text`` ends with it already,
    # a layout that shows ``old`` and ``new`` on their own adds it.
    note: str = ""

    @property
    def grid(self) -> tuple[str, ...] | None:
        """The shared column labels when every detail row has the same columns (a table)."""
        if not self.details:
            return None
        columns = tuple(c.column for c in self.details[0].cells)
        same = all(tuple(c.column for c in d.cells) == columns for d in self.details)
        return columns if same and all(columns) else None


@dataclass(frozen=True)
class _Limits:
    value: int | None
    name: int | None


_CUT = _Limits(MAX_VALUE, MAX_NAME)
_WHOLE = _Limits(None, None)


# --- describing -------------------------------------------------------------------------


def describe(c: Change, *, cut: bool = True) -> Line:
    """One change as a line a person reads, with its mark (promotion, regression, ...)."""
    limits = _CUT if cut else _WHOLE
    if c.kind in ("status_changed", "value_changed", "link_changed"):
        return _cell_line(c, limits)
    if c.kind in ("entity_added", "entity_removed"):
        details, more = _details(c.cells, limits)
        if c.kind == "entity_added":
            return Line("added", "new on the page", details=details, more=more, headline=False)
        return Line("removed", "removed from the page", details=details, more=more, headline=False)
    if c.kind == "entity_renamed":
        return Line("renamed", f"renamed from {_quoted(c.old_entity, limits.name)}")
    if c.kind == "entity_moved":
        old = _quoted(c.old_section, limits.name) if c.old_section else "(no heading)"
        return Line(
            "renamed", f"{'moved from section' if c.entity else 'section renamed from'} {old}"
        )
    if c.kind in ("attribute_added", "attribute_removed"):
        return _attribute_line(c, limits)
    if c.kind in ("section_added", "section_removed"):
        return _section_line(c, limits)
    if c.kind == "format_changed":
        old, new = clean(c.old_raw, limits.value), clean(c.new_raw, limits.value)
        return Line("format", f"page format changed: {old} → {new}")
    return Line("info", clean(c.kind.replace("_", " ")))


def sentence(c: Change, *, cut: bool = False) -> str:
    """The change as one line that stands alone, naming its entity (or section):
    "Microsoft.Web/sites · User assigned: Available → Not available"."""
    line = describe(c, cut=cut)
    name = clean(c.entity or c.section, MAX_NAME if cut else None, br=" ")
    if not name:
        return line.text
    return f"{name} · {line.text}" if line.where else f"{name}: {line.text}"


def column_name(key: str, label: str, limit: int | None = MAX_NAME) -> str:
    """How a column is named in a message: a known cloud by its short name, else the page's
    own header on one line."""
    return CLOUD_LABEL.get(key) or clean(label, limit, br=" ")


def _value(status: str | None, raw: str | None, limit: int | None) -> str:
    if status is None:
        return _quoted(raw, limit) if raw else "(empty)"
    label = STATUS_LABEL.get(status, status)
    if status in ("mixed", "unknown") and raw:
        return f"{label} ({clean(raw, limit)})"
    return label


def _quoted(text: str | None, limit: int | None) -> str:
    return f"“{clean(text, limit)}”"


def _where(c: Change, limits: _Limits) -> str:
    # An identity type is the whole place of a capability: "User assigned", not "User
    # assigned · Identity types(s)".
    column = (
        "" if c.column == IDENTITY_COLUMN else column_name(c.column, c.column_label, limits.name)
    )
    parts = [clean(p, limits.name, br=" ") for p in (c.row_label, column) if p]
    if not parts:
        parts = [p for p in (c.row, c.column) if p]
    return " · ".join(parts)


def _status_mark(c: Change) -> Mark:
    old = STATUS_RANK.get(c.old_status or "")
    new = STATUS_RANK.get(c.new_status or "")
    if old is not None and new is not None:
        return "promotion" if new > old else "regression"
    return "regression" if c.severity == "warning" else "changed"


def _cell_line(c: Change, limits: _Limits) -> Line:
    """A status, text or link change of one cell: where, and its two sides."""
    where = _where(c, limits)
    if c.kind == "link_changed":
        old = clean(", ".join(c.old_links) or "(no link)", limits.value)
        new = clean(", ".join(c.new_links) or "(no link)", limits.value)
        return Line(
            "changed", f"{where} link: {old} → {new}", where=f"{where} link", old=old, new=new
        )
    if c.kind == "value_changed":
        old, new = _value(None, c.old_raw, limits.value), _value(None, c.new_raw, limits.value)
        return Line("changed", f"{where}: {old} → {new}", where=where, old=old, new=new)
    old = _value(c.old_status, c.old_raw, limits.value)
    new = _value(c.new_status, c.new_raw, limits.value)
    return Line(
        _status_mark(c),
        f"{where}: {old} → {new}",
        where=where,
        old=old,
        new=new,
        old_status=c.old_status,
        new_status=c.new_status,
    )


def _attribute_line(c: Change, limits: _Limits) -> Line:
    """A row or column that appeared or disappeared, with its value when it has one."""
    added = c.kind == "attribute_added"
    details, more = _details(c.cells, limits)
    raw, status = (c.new_raw, c.new_status) if added else (c.old_raw, c.old_status)
    value = f": {_value(status, raw, limits.value)}" if raw is not None else ""
    label = _where(c, limits) or "a row or column"
    mark: Mark = "added" if added else "removed"
    return Line(mark, f"{label} {mark}{value}", details=details, more=more)


def _details(cells: Sequence[Record], limits: _Limits) -> tuple[tuple[Detail, ...], int]:
    """The cells of an entity, one Detail per row, at most MAX_DETAIL_ROWS of them."""
    rows: dict[str, list[Cell]] = {}
    for r in cells:
        value = (
            _value(r.status, r.raw, limits.value)
            if r.status is not None
            else clean(r.raw, limits.value)
        )
        column = column_name(r.column_key, r.column, limits.name)
        rows.setdefault(clean(r.row, limits.name, br=" "), []).append(Cell(column, value, r.status))
    details = tuple(Detail(row, tuple(cs)) for row, cs in rows.items())
    return details[:MAX_DETAIL_ROWS], max(0, len(details) - MAX_DETAIL_ROWS)


def _identity_types(cells: Sequence[Record], limits: _Limits) -> str:
    """What an entity's identity-types records say, in a few words."""
    unknown = [r for r in cells if r.status == "unknown"]
    if unknown:
        raw = unknown[0].raw
        return (
            f"identity types unreadable: {_quoted(raw, limits.value)}"
            if raw
            else "no identity types given (an empty cell)"
        )
    listed = [
        clean(r.row, limits.name, br=" ") + (" (preview)" if r.status == "preview" else "")
        for r in cells
        if r.status in ("available", "preview")
    ]
    return ", ".join(listed) or "no identity types"


def _section_line(c: Change, limits: _Limits) -> Line:
    """A section added or removed, summarized: how many entities, and for resource types
    how many support each identity type; the entities themselves as a listing."""
    mark: Mark = "added" if c.kind == "section_added" else "removed"
    entities: dict[str, list[Record]] = {}
    for r in c.cells:
        entities.setdefault(r.entity, []).append(r)
    if not entities:
        return Line(mark, f"section {mark}")
    n = len(entities)
    typed = {
        name: [r for r in cells if r.column_key == IDENTITY_COLUMN]
        for name, cells in entities.items()
    }
    if not any(typed.values()):
        noun = "entity" if n == 1 else "entities"
        listing = tuple(
            clean(name, limits.name, br=" ")
            + "".join(f" — {d.text()}" for d in _details(cells, limits)[0])
            for name, cells in entities.items()
        )
        return Line(mark, f"section {mark}: {n} {noun}", listing=listing)
    per_type: dict[str, int] = {}
    unknown = 0
    for cells in typed.values():
        unknown += any(r.status == "unknown" for r in cells)
        for r in cells:
            if r.status in ("available", "preview"):
                label = clean(r.row, limits.name, br=" ")
                per_type[label] = per_type.get(label, 0) + 1
    counts = [f"{label} {count}" for label, count in per_type.items()]
    if unknown:
        counts.append(f"{unknown} unreadable")
    listing = tuple(
        f"{clean(name, limits.name, br=' ')}: {_identity_types(cells, limits)}"
        for name, cells in typed.items()
    )
    noun = "resource type" if n == 1 else "resource types"
    text = f"section {mark}: {n} {noun}" + (f" ({', '.join(counts)})" if counts else "")
    return Line(mark, text, listing=listing)
