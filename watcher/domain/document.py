"""The shape every page becomes: a Document of Records, shared by parse, guard, diff and store.

A record is one table cell, keyed by (section, entity, row, column) in normal form. The
display text of each part is kept beside its key so that messages read as the page does.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

Status = Literal["available", "preview", "not_available", "mixed", "unknown"]
STATUSES: tuple[Status, ...] = ("available", "preview", "not_available", "mixed", "unknown")

# Promotion order used by the diff to tell a promotion from a regression.
STATUS_RANK: dict[str, int] = {"not_available": 0, "preview": 1, "available": 2}

Key = tuple[str, str, str, str]

BR = "<br>"  # how a record's raw text separates the parts of a cell


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """The comparison form of a label or a cell's text: case-folded, punctuation and
    whitespace removed, so that a re-rendering of the same words compares equal.

    NFKC first so that full-width letters on translated pages fold like ASCII ones; a
    ``<br>`` separator counts as a space, not as the letters "br".
    """
    folded = unicodedata.normalize("NFKC", text.replace(BR, " ")).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


# The column key of an identity-types cell (the 2025 page's "Identity types(s)"): each of its
# records is one identity type of a resource type, its row the type (``user_assigned``).
IDENTITY_COLUMN = "identity_types"


@dataclass(frozen=True, slots=True)
class Record:
    """One table cell of the page.

    ``section``/``entity``/``row``/``column`` are the display texts as the page shows them;
    the ``*_key`` fields are their normal forms and are what identity and diffing use.
    ``status`` is None for cells that are not status cells (a Resource ID, a documentation
    link, a namespace): they are tracked as text, never classified.
    """

    section: str
    entity: str
    row: str
    column: str
    raw: str
    status: Status | None
    section_key: str
    entity_key: str
    row_key: str
    column_key: str
    # For `mixed`: the labelled parts, e.g. (("Linux", "preview"), ("Windows", "not_available")).
    parts: tuple[tuple[str, str], ...] = ()
    # hrefs of links in the cell, in order.
    links: tuple[str, ...] = ()

    @property
    def key(self) -> Key:
        return (self.section_key, self.entity_key, self.row_key, self.column_key)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed page: its front matter, its records in page order, and what the parser noticed."""

    records: tuple[Record, ...]
    title: str | None = None
    ms_date: str | None = None  # ISO 8601 date from the front matter's ms.date, if any
    tables: int = 0
    warnings: tuple[str, ...] = field(default=())

    def entities(self) -> set[tuple[str, str]]:
        return {(r.section_key, r.entity_key) for r in self.records}

    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.records:
            if r.status is not None:
                counts[r.status] = counts.get(r.status, 0) + 1
        return counts


ChangeKind = Literal[
    "status_changed",
    "value_changed",
    "entity_added",
    "entity_removed",
    "entity_renamed",
    "entity_moved",
    "attribute_added",
    "attribute_removed",
    "section_added",
    "section_removed",
    "link_changed",
    "format_changed",
]
Severity = Literal["info", "notice", "warning"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "notice": 1, "warning": 2}


@dataclass(frozen=True, slots=True)
class Change:
    """One typed difference between two documents.

    ``row`` and ``column`` are canonical keys (``user_assigned``, ``usgov``) so that filters
    and routes can name them; ``row_label``/``column_label`` keep the page's wording for
    messages. Entity-level changes leave row and column empty; a column-wide
    ``attribute_*`` change leaves entity empty.
    """

    kind: ChangeKind
    severity: Severity
    section: str
    entity: str
    row: str = ""
    column: str = ""
    row_label: str = ""
    column_label: str = ""
    old_entity: str | None = None
    old_section: str | None = None
    old_raw: str | None = None
    new_raw: str | None = None
    old_status: Status | None = None
    new_status: Status | None = None
    # Normal-form keys of the entity's section and name (the display texts above follow the
    # page's wording); for a rename or a move, the keys it had before. What `diff.apply` and
    # history queries follow an entity by.
    section_key: str = ""
    entity_key: str = ""
    old_section_key: str | None = None
    old_entity_key: str | None = None
    # The records the change carries: the new cell of a status/value change, every cell of an
    # added (or removed) section, entity or attribute. Enough to replay the change.
    cells: tuple[Record, ...] = field(default=(), repr=False)
    # For a cell whose links point elsewhere (``link_changed``, or a status or value change
    # that retargeted a link too): the cell's links before and after, in normal form.
    old_links: tuple[str, ...] = ()
    new_links: tuple[str, ...] = ()
