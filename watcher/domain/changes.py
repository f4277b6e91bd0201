"""One Change of each kind, built from paired records, and how severe a status change is.

The builders watcher.domain.emitting calls as it walks the paired pages: a section, an
entity, a rename or move, a row or column that came or went, one cell. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from watcher.domain.document import STATUS_RANK, Change, ChangeKind, Record, Severity, normalize
from watcher.domain.pairing import Entity, Section, status_signature

# ---------------------------------------------------------------------------------------
# Severities


def _rank_range(r: Record) -> tuple[int, int] | None:
    """The worst and best state a cell claims, or None when it claims nothing readable."""
    if r.status in STATUS_RANK:
        rank = STATUS_RANK[r.status]
        return rank, rank
    if r.status == "mixed":
        ranks = [STATUS_RANK[s] for _, s in r.parts if s in STATUS_RANK]
        if ranks:
            return min(ranks), max(ranks)
    return None


def _label_ranks(r: Record) -> dict[str, int]:
    return {label.casefold(): STATUS_RANK[s] for label, s in r.parts if s in STATUS_RANK}


def severity_of(old: Record, new: Record) -> Severity:
    """``notice`` for a promotion, ``warning`` when anything got worse.

    A cell that becomes unreadable (``unknown``, a non-status text) is a warning: nothing
    can be told any more. One that becomes readable again is a notice. For ``mixed`` cells
    a part that lost ground (Windows: Preview → Not available) is a regression even when
    another part gained; parts are matched by label when both cells have the same labels,
    else the worst and best states are compared.
    """
    before, after = _rank_range(old), _rank_range(new)
    if after is None:
        return "warning"
    if before is None:
        return "notice"
    old_parts, new_parts = _label_ranks(old), _label_ranks(new)
    if old_parts and old_parts.keys() == new_parts.keys():
        worse = any(new_parts[label] < rank for label, rank in old_parts.items())
        return "warning" if worse else "notice"
    if after[0] < before[0] or after[1] < before[1]:
        return "warning"
    return "notice"


# ---------------------------------------------------------------------------------------
# Building the changes


class Attr(NamedTuple):
    """A row (column None), a column (row None), or one cell (both set)."""

    row: str | None
    column: str | None


class Place(NamedTuple):
    """Where a change is reported: a section and entity of the new page (display, key);
    the entity is empty for a change to a whole section."""

    section: str
    section_key: str
    entity: str = ""
    entity_key: str = ""


def place_of(entity: Entity) -> Place:
    """Where the changes of one entity are reported: where it stands on the new page."""
    return Place(entity.section, entity.section_key, entity.name, entity.key)


def attribute_change(
    kind: ChangeKind, records: Sequence[Record], attr: Attr, place: Place
) -> Change:
    """attribute_added or attribute_removed: a row, a column or one cell of ``records``."""
    first = records[0]
    single = len(records) == 1
    removed = kind == "attribute_removed"
    return Change(
        kind=kind,
        severity="notice",
        section=place.section,
        entity=place.entity,
        row=attr.row or "",
        column=attr.column or "",
        row_label=first.row if attr.row is not None else "",
        column_label=first.column if attr.column is not None else "",
        # A single cell says what it held; a row or a column carries its cells.
        old_raw=first.raw if single and removed else None,
        new_raw=first.raw if single and not removed else None,
        old_status=first.status if single and removed else None,
        new_status=first.status if single and not removed else None,
        section_key=place.section_key,
        entity_key=place.entity_key,
        cells=tuple(records),
    )


def cell_change(old: Record, new: Record, place: Place) -> Change | None:
    """The change of one cell, or None when it says the same: the same status, the same
    link targets (normal forms, in any order) and the same words. Separators, spacing and
    case are rendering (a ``<br/>`` lost, a comma for a line break), not content."""
    retargeted = set(old.links) != set(new.links)
    kind: ChangeKind
    severity: Severity
    if status_signature(old) != status_signature(new):
        kind, severity = "status_changed", severity_of(old, new)
    elif retargeted:
        # A documentation link now points at another article: the row's meaning changed
        # even when its title did not (the 2023 page pointed five rows at one wrong page).
        kind, severity = "link_changed", "info"
    elif normalize(old.raw) != normalize(new.raw):
        kind, severity = "value_changed", "info"
    else:
        return None
    return Change(
        kind=kind,
        severity=severity,
        section=place.section,
        entity=place.entity,
        row=new.row_key,
        column=new.column_key,
        row_label=new.row,
        column_label=new.column,
        old_raw=old.raw,
        new_raw=new.raw,
        old_status=old.status,
        new_status=new.status,
        section_key=place.section_key,
        entity_key=place.entity_key,
        cells=(new,),
        old_links=old.links if retargeted else (),
        new_links=new.links if retargeted else (),
    )


def entity_change(kind: ChangeKind, entity: Entity) -> Change:
    return Change(
        kind=kind,
        severity="notice" if kind == "entity_added" else "warning",
        section=entity.section,
        entity=entity.name,
        section_key=entity.section_key,
        entity_key=entity.key,
        cells=tuple(entity.cells.values()),
    )


def identity_change(old: Entity, new: Entity, *, moved: bool) -> Change | None:
    """entity_moved (another section) or entity_renamed (another name) for a paired entity.
    Both old keys are always set: they are how `apply` finds the entity's old records."""
    renamed = old.key != new.key or old.name != new.name
    if not moved and not renamed:
        return None
    return Change(
        kind="entity_moved" if moved else "entity_renamed",
        severity="info",
        section=new.section,
        entity=new.name,
        old_entity=old.name if renamed else None,
        old_section=old.section if moved else None,
        section_key=new.section_key,
        entity_key=new.key,
        old_section_key=old.section_key,
        old_entity_key=old.key,
    )


def section_removed(section: Section, cells: Iterable[Record]) -> Change:
    """section_removed, carrying the cells of its entities that did not move elsewhere."""
    return Change(
        kind="section_removed",
        severity="notice",
        section=section.title,
        entity="",
        section_key=section.key,
        cells=tuple(cells),
    )


def section_change(old: Section | None, new: Section, cells: Iterable[Record]) -> Change | None:
    """section_added, or the one change that says a section stands under a new heading
    (``entity_moved`` with no entity and no old entity key: every entity moved with it)."""
    if old is None:
        return Change(
            kind="section_added",
            severity="notice",
            section=new.title,
            entity="",
            section_key=new.key,
            cells=tuple(cells),
        )
    if old.key == new.key and old.title == new.title:
        return None
    return Change(
        kind="entity_moved",
        severity="info",
        section=new.title,
        entity="",
        old_section=old.title,
        section_key=new.key,
        old_section_key=old.key,
    )
