"""Replaying a change set: ``apply(old, changes)`` gives the records ``diff(old, new)`` saw.

The inverse the property tests hold the differ (watcher.domain.diff) to: every change
carries what it needs to be replayed (the cells it removed or put in, the old keys of a
renamed or moved entity). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from watcher.domain.document import Change, Document, Key, Record

_REMOVING = frozenset({"section_removed", "entity_removed", "attribute_removed"})
_ADDING = frozenset(
    {
        "section_added",
        "entity_added",
        "attribute_added",
        "status_changed",
        "value_changed",
        "link_changed",
    }
)


def apply(old: Document | Sequence[Record], changes: Iterable[Change]) -> list[Record]:
    """The records ``changes`` (a ``diff(old, new)``) turn ``old`` into: ``new``'s records.

    Removals go first, by the old keys they carry; then renames and moves give the
    remaining records their new section and entity; then added and changed cells are put
    in. The result holds old records in old page order followed by new ones.
    """
    records = old.records if isinstance(old, Document) else old
    table: dict[Key, Record] = {}
    for r in records:
        table.setdefault(r.key, r)
    changes = list(changes)
    for c in changes:
        if c.kind in _REMOVING:
            for cell in c.cells:
                table.pop(cell.key, None)
    table = {r.key: r for r in _rekeyed(table.values(), changes)}
    for c in changes:
        if c.kind in _ADDING:
            for cell in c.cells:
                table[cell.key] = cell
    return list(table.values())


def _rekeyed(records: Iterable[Record], changes: Sequence[Change]) -> Iterator[Record]:
    """The records under the section and entity keys the renames and moves gave them."""
    entities: dict[tuple[str, str], Change] = {}  # by old (section_key, entity_key)
    sections: dict[str, Change] = {}
    for c in changes:
        if c.kind not in ("entity_moved", "entity_renamed") or c.old_section_key is None:
            continue
        if c.old_entity_key is None:
            sections[c.old_section_key] = c
        else:
            entities[(c.old_section_key, c.old_entity_key)] = c
    for r in records:
        entity = entities.get((r.section_key, r.entity_key))
        heading = sections.get(r.section_key)
        if entity is not None:
            yield replace(
                r,
                section=entity.section,
                section_key=entity.section_key,
                entity=entity.entity,
                entity_key=entity.entity_key,
            )
        elif heading is not None:
            yield replace(r, section=heading.section, section_key=heading.section_key)
        else:
            yield r
