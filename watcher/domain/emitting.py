"""Emitting: the changes between two paired pages, in the order they stand on the new page.

The second half of the semantic diff (watcher.domain.diff): given the pages and their
pairing (watcher.domain.pairing), walk the sections and entities of the new page, with
removed ones where they stood on the old page, and report each section, entity, row, column
and cell that changed (built by watcher.domain.changes). A row or column that left or
joined a whole section is reported once for the section, not once per entity. Pure.
"""

from __future__ import annotations

from collections.abc import Container, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from watcher.domain.changes import (
    Attr,
    Place,
    attribute_change,
    cell_change,
    entity_change,
    identity_change,
    place_of,
    section_change,
    section_removed,
)
from watcher.domain.document import Change, ChangeKind, Record
from watcher.domain.pairing import CellKey, Entity, EntityId, Page, Pairing, Section

T = TypeVar("T", bound=Hashable)

# ---------------------------------------------------------------------------------------
# Ordering


def _merge(new_items: Sequence[T], old_items: Sequence[T]) -> list[T]:
    """``new_items`` in their order, with each item found only in ``old_items`` placed
    right after the item that preceded it on the old page (or after its own predecessor,
    when that one is gone too)."""
    present = set(new_items)
    after: dict[T | None, list[T]] = {}
    anchor: T | None = None
    for item in old_items:
        if item in present:
            anchor = item
        else:
            after.setdefault(anchor, []).append(item)
    merged = list(after.get(None, ()))
    for item in new_items:
        merged.append(item)
        merged.extend(after.get(item, ()))
    return merged


def _positions(new_items: Iterable[str], old_items: Iterable[str]) -> dict[str, int]:
    merged = _merge(list(dict.fromkeys(new_items)), list(dict.fromkeys(old_items)))
    return {item: i for i, item in enumerate(merged)}


def _attributes(
    cells: dict[CellKey, Record], others: dict[CellKey, Record]
) -> dict[Attr, list[Record]]:
    """The cells of ``cells`` missing from ``others``, grouped by what went missing: a
    whole row, else a whole column, else the single cell."""
    rows = {r for r, _ in others}
    columns = {c for _, c in others}
    groups: dict[Attr, list[Record]] = {}
    for (r, c), record in cells.items():
        if (r, c) in others:
            continue
        if r not in rows:
            attr = Attr(r, None)
        elif c not in columns:
            attr = Attr(None, c)
        else:
            attr = Attr(r, c)
        groups.setdefault(attr, []).append(record)
    return groups


def _holds(section: Section, attr: Attr) -> bool:
    """Whether any cell of the section has this row (or column) key."""
    if attr.row is not None:
        return any(r.row_key == attr.row for r in section.records())
    return any(r.column_key == attr.column for r in section.records())


def _section_wide(
    pairs: Sequence[tuple[dict[CellKey, Record], dict[CellKey, Record]]], after: Section
) -> dict[Attr, list[Record]]:
    """Rows and columns that left a whole section: missing from at least two of its paired
    entities, and from every cell of the section ``after``. Called with the pairs swapped
    and the old section, the rows and columns that joined it."""
    counts: dict[Attr, int] = {}
    cells: dict[Attr, list[Record]] = {}
    for before_cells, after_cells in pairs:
        if before_cells.keys() == after_cells.keys():
            continue
        for attr, records in _attributes(before_cells, after_cells).items():
            if attr.row is None or attr.column is None:
                counts[attr] = counts.get(attr, 0) + 1
                cells.setdefault(attr, []).extend(records)
    return {
        attr: cells[attr]
        for attr, count in counts.items()
        if count >= 2 and not _holds(after, attr)
    }


def _records_of(section: Section, skip: Container[EntityId]) -> Iterator[Record]:
    for entity in section.entities.values():
        if entity.ident not in skip:
            yield from entity.cells.values()


@dataclass(slots=True)
class _Differ:
    """Walks the new page (removed things where they stood on the old one) and reports
    the changes of each section and entity."""

    old: Page
    new: Page
    pairing: Pairing

    def changes(self) -> list[Change]:
        paired = self.pairing.sections
        heading_of = {n: o for o, n in paired.items()}
        order = _merge(
            [("new", key) for key in self.new],
            [("new", paired[key]) if key in paired else ("old", key) for key in self.old],
        )
        out: list[Change] = []
        for side, key in order:
            if side == "old":
                section = self.old[key]
                out.append(section_removed(section, _records_of(section, self.pairing.paired_old)))
            else:
                old_key = heading_of.get(key)
                old = self.old[old_key] if old_key is not None else None
                out.extend(self._section(old, self.new[key]))
        return out

    def _section(self, old: Section | None, new: Section) -> Iterator[Change]:
        change = section_change(old, new, _records_of(new, self.pairing.partners))
        if change is not None:
            yield change
        old_key = old.key if old is not None else None
        # Entities paired within this pair of sections; moved ones are judged on their own.
        stayed = [
            (o, n)
            for n in new.entities.values()
            if (o := self.pairing.partners.get(n.ident)) is not None and o.section_key == old_key
        ]
        lost: dict[Attr, list[Record]] = {}
        gained: dict[Attr, list[Record]] = {}
        if old is not None:
            lost = _section_wide([(o.cells, n.cells) for o, n in stayed], new)
            gained = _section_wide([(n.cells, o.cells) for o, n in stayed], old)
            yield from _wide_changes(old, new, lost, gained)
        for side, key in self._entity_order(old, new):
            if side == "old" and old is not None:
                yield entity_change("entity_removed", old.entities[key])
                continue
            entity = new.entities[key]
            partner = self.pairing.partners.get(entity.ident)
            if partner is None:
                if old is not None:  # else it is one of the added section's cells
                    yield entity_change("entity_added", entity)
                continue
            moved = partner.section_key != old_key
            change = identity_change(partner, entity, moved=moved)
            if change is not None:
                yield change
            if moved:
                yield from _entity_cells(partner, entity, set(), set())
            else:
                yield from _entity_cells(partner, entity, lost.keys(), gained.keys())

    def _entity_order(self, old: Section | None, new: Section) -> list[tuple[str, str]]:
        """The new section's entities, with the old section's removed ones where they stood.
        Entities that moved away are reported where they went, not here."""
        old_items: list[tuple[str, str]] = []
        if old is not None:
            went_to = {o.ident: n for n, o in self.pairing.partners.items()}
            for entity in old.entities.values():
                target = went_to.get(entity.ident)
                if target is None:
                    old_items.append(("old", entity.key))
                elif target[0] == new.key:
                    old_items.append(("new", target[1]))
        return _merge([("new", key) for key in new.entities], old_items)


def _wide_changes(
    old: Section,
    new: Section,
    lost: dict[Attr, list[Record]],
    gained: dict[Attr, list[Record]],
) -> Iterator[Change]:
    """Section-wide row and column changes: rows first, then columns, in page order."""
    rows = _positions((r.row_key for r in new.records()), (r.row_key for r in old.records()))
    columns = _positions(
        (r.column_key for r in new.records()), (r.column_key for r in old.records())
    )
    place = Place(new.title, new.key)
    found: list[tuple[tuple[int, int], Change]] = []
    sides: tuple[tuple[ChangeKind, dict[Attr, list[Record]]], ...] = (
        ("attribute_removed", lost),
        ("attribute_added", gained),
    )
    for kind, groups in sides:
        for attr, cells in groups.items():
            where = (0, rows[attr.row]) if attr.row is not None else (1, columns[attr.column or ""])
            found.append((where, attribute_change(kind, cells, attr, place)))
    found.sort(key=lambda item: item[0])
    for _, change in found:
        yield change


def _entity_cells(
    old: Entity, new: Entity, wide_lost: Container[Attr], wide_gained: Container[Attr]
) -> Iterator[Change]:
    """Attribute and cell changes of one paired entity, by row then column on the new page
    (a removed row or column where it stood on the old one). Rows and columns that left or
    joined the whole section are reported once for the section, not here."""
    place = place_of(new)
    found: list[tuple[Attr, Change]] = []
    if old.cells.keys() != new.cells.keys():
        sides: tuple[tuple[ChangeKind, dict[Attr, list[Record]], Container[Attr]], ...] = (
            ("attribute_removed", _attributes(old.cells, new.cells), wide_lost),
            ("attribute_added", _attributes(new.cells, old.cells), wide_gained),
        )
        for kind, groups, wide in sides:
            for attr, cells in groups.items():
                if attr not in wide:
                    found.append((attr, attribute_change(kind, cells, attr, place)))
    for k, record in new.cells.items():
        before = old.cells.get(k)
        if before is not None and before != record:
            change = cell_change(before, record, place)
            if change is not None:
                found.append((Attr(*k), change))
    if len(found) > 1:
        rows = _positions((r for r, _ in new.cells), (r for r, _ in old.cells))
        columns = _positions((c for _, c in new.cells), (c for _, c in old.cells))
        found.sort(
            key=lambda item: (
                rows[item[0].row] if item[0].row is not None else -1,
                columns[item[0].column] if item[0].column is not None else -1,
            )
        )
    for _, change in found:
        yield change


def emit(old: Page, new: Page, pairing: Pairing) -> list[Change]:
    """The typed changes from ``old`` to ``new`` as ``pairing`` paired them, in the new
    page's order (removed things where they stood on the old page)."""
    return _Differ(old, new, pairing).changes()
