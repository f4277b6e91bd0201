"""The semantic diff: what changed between two parsed pages, in the page's own terms.

``diff(old, new)`` pairs the sections, entities and cells of two documents and reports
typed changes ("Azure API Management · User assigned · Azure Government: Preview →
Available") in the order they stand on the new page. ``apply(old, changes)`` replays a
change set on the old records; it is the inverse the property tests hold ``diff`` to.

Pairing goes from the surest evidence to the weakest:

1. sections by key; a removed and an added heading that share most of their entities are
   one section under a new heading (reported once, as an ``entity_moved`` with no entity);
2. entities by key within paired sections (a different display text is a rename);
3. an entity key that left one section and appeared in another has moved;
4. a removed and an added entity of one section whose records agree (nearly) everywhere,
   that have something distinctive in common (similar documentation or Resource ID text,
   the same link, a distinctive word of the name) and that are each other's unique best
   match, were renamed. Two services that merely share "Not available" everywhere have
   nothing distinctive in common and stay one removal and one addition.

Everything left over is added or removed, one change per section, entity or attribute.
"""

from __future__ import annotations

import re
from collections.abc import Container, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import NamedTuple, TypeVar

from watcher.domain.document import (
    STATUS_RANK,
    Change,
    ChangeKind,
    Document,
    Key,
    Record,
    Severity,
    normalize,
)

__all__ = ["apply", "diff"]

CellKey = tuple[str, str]  # (row_key, column_key)
EntityId = tuple[str, str]  # (section_key, entity_key)
T = TypeVar("T", bound=Hashable)

# Rename thresholds (see _rename_score): the share of cell keys both entities must have, the
# share of their status cells that must agree, and how alike their text cells must read.
_SAME_SHAPE = 0.8
_SAME_STATUS = 0.75
_ALIKE_TEXT = 0.6
# Below this, two candidates count as equally good: an ambiguous match is no match.
_TIE = 1e-9

# Words that every service name or documentation title on these pages shares, so that
# they are no evidence that two entities are the same.
_WORD = re.compile(r"[^\W_]+")
_GENERIC_WORDS = frozenset(
    _WORD.findall(
        "a an and are as at by for from how in is of on or the to use using with your"
        " https http www azure microsoft managed identity identities service services"
    )
)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# The two pages, indexed


@dataclass(slots=True)
class _Entity:
    section_key: str
    key: str
    section: str  # display texts, from the entity's first record
    name: str
    cells: dict[CellKey, Record] = field(default_factory=dict)  # page order

    @property
    def ident(self) -> EntityId:
        return (self.section_key, self.key)


@dataclass(slots=True)
class _Section:
    key: str
    title: str
    entities: dict[str, _Entity] = field(default_factory=dict)  # page order

    def records(self) -> Iterator[Record]:
        for entity in self.entities.values():
            yield from entity.cells.values()


_Page = dict[str, _Section]


def _index(records: Iterable[Record]) -> _Page:
    """Sections → entities → cells in page order. A key seen twice keeps its first record:
    the parser makes keys unique, and a diff must not fail on a page that slipped through."""
    page: _Page = {}
    for r in records:
        section = page.get(r.section_key)
        if section is None:
            section = page[r.section_key] = _Section(r.section_key, r.section)
        entity = section.entities.get(r.entity_key)
        if entity is None:
            entity = section.entities[r.entity_key] = _Entity(
                r.section_key, r.entity_key, r.section, r.entity
            )
        entity.cells.setdefault((r.row_key, r.column_key), r)
    return page


# ---------------------------------------------------------------------------------------
# Pairing


@dataclass(slots=True)
class _Pairing:
    sections: dict[str, str]  # old section key → new section key
    partners: dict[EntityId, _Entity] = field(default_factory=dict)  # new entity → old
    paired_old: set[EntityId] = field(default_factory=set)

    def pair(self, old: _Entity, new: _Entity) -> None:
        self.partners[new.ident] = old
        self.paired_old.add(old.ident)


def _mutual_best(scores: dict[tuple[T, T], float]) -> list[tuple[T, T]]:
    """The pairs (a, b) where b is a's unique best candidate and a is b's, in the order the
    scores were given. Symmetric, so that diff(b, a) pairs what diff(a, b) paired."""
    best_a: dict[T, tuple[float, T | None]] = {}
    best_b: dict[T, tuple[float, T | None]] = {}
    for (a, b), score in scores.items():
        for best, me, other in ((best_a, a, b), (best_b, b, a)):
            top = best.get(me)
            if top is None or score > top[0] + _TIE:
                best[me] = (score, other)
            elif score > top[0] - _TIE:
                best[me] = (top[0], None)  # a tie: nobody is this one's unique best
    return [(a, b) for (a, b) in scores if best_a[a][1] == b and best_b[b][1] == a]


def _pair_sections(old: _Page, new: _Page) -> dict[str, str]:
    """Same key, or a new heading over mostly the same entities (more than half of each)."""
    pairs = {key: key for key in old if key in new}
    scores: dict[tuple[str, str], float] = {}
    for o in [key for key in old if key not in pairs]:
        before = old[o].entities
        for n in [key for key in new if key not in pairs]:
            after = new[n].entities
            shared = len(before.keys() & after.keys())
            if 2 * shared > len(before) and 2 * shared > len(after):
                scores[(o, n)] = shared / (len(before) + len(after))
    pairs.update(_mutual_best(scores))
    return pairs


def _pair_entities(old: _Page, new: _Page, sections: dict[str, str]) -> _Pairing:
    pairing = _Pairing(sections)
    for o_key, n_key in sections.items():
        after = new[n_key].entities
        for key, entity in old[o_key].entities.items():
            if key in after:
                pairing.pair(entity, after[key])
    _pair_moves(old, new, pairing)
    for o_key, n_key in sections.items():
        _pair_renames(old[o_key], new[n_key], pairing)
    return pairing


def _pair_moves(old: _Page, new: _Page, pairing: _Pairing) -> None:
    """An entity key unpaired in an old section and unpaired in a new one is one entity that
    moved. If it stood in several sections, the occurrences pair in page order."""
    gone: dict[str, list[_Entity]] = {}
    for section in old.values():
        for e in section.entities.values():
            if e.ident not in pairing.paired_old:
                gone.setdefault(e.key, []).append(e)
    for section in new.values():
        for e in section.entities.values():
            candidates = gone.get(e.key)
            if e.ident not in pairing.partners and candidates:
                pairing.pair(candidates.pop(0), e)


def _pair_renames(old: _Section, new: _Section, pairing: _Pairing) -> None:
    removed = [e for e in old.entities.values() if e.ident not in pairing.paired_old]
    added = [e for e in new.entities.values() if e.ident not in pairing.partners]
    if not removed or not added:
        return
    own = (_own_texts(old), _own_texts(new))
    # Only the columns both versions have: a table that gained or lost a column in the same
    # version (the namespace column dropped in December 2021) still pairs its renames.
    shared = {r.column_key for r in old.records()} & {r.column_key for r in new.records()}
    scores: dict[tuple[EntityId, EntityId], float] = {}
    for o in removed:
        for n in added:
            score = _rename_score(o, n, own, shared)
            if score is not None:
                scores[(o.ident, n.ident)] = score
    by_old = {e.ident: e for e in removed}
    by_new = {e.ident: e for e in added}
    for o_id, n_id in _mutual_best(scores):
        pairing.pair(by_old[o_id], by_new[n_id])


# ---------------------------------------------------------------------------------------
# Rename evidence


def _words(text: str) -> frozenset[str]:
    return frozenset(
        w for w in _WORD.findall(_BR.sub(" ", text).casefold()) if w not in _GENERIC_WORDS
    )


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def _same_link(a: Record, b: Record) -> bool:
    # Links are in normal form (watcher.parse.links): one spelling per article.
    return bool(set(a.links) & set(b.links) - {""})


def _status_signature(r: Record) -> tuple[object, ...]:
    # The labels of a mixed cell are wording; which part has which status is the status.
    return (r.status, tuple(status for _, status in r.parts))


def _text_similarity(a: Record, b: Record) -> float:
    if a.raw == b.raw:
        return 1.0
    similarity = _jaccard(_words(a.raw), _words(b.raw))
    # The same documentation target under a reworded title is the same documentation.
    return max(similarity, 0.9) if _same_link(a, b) else similarity


def _own_texts(section: _Section) -> frozenset[str]:
    """Texts of non-status cells that only one entity of the section has: a documentation
    title, a Resource ID. Texts many entities share ("System-assigned<br>User-assigned")
    tell nothing about which entity is which."""
    holders: dict[str, int] = {}
    for entity in section.entities.values():
        for text in {r.raw for r in entity.cells.values() if r.status is None and r.raw.strip()}:
            holders[text] = holders.get(text, 0) + 1
    return frozenset(text for text, count in holders.items() if count == 1)


def _rename_score(
    old: _Entity,
    new: _Entity,
    own: tuple[frozenset[str], frozenset[str]],
    columns: Container[str],
) -> float | None:
    """How alike two entities' records are, or None when they are not a rename candidate.

    A candidate has (nearly) the same cell keys, (nearly) the same statuses, text cells that
    read alike, and something distinctive in common: a text cell of its own (``own``: the
    texts only one entity of the old, resp. new, section has) that reads alike or links to
    the same page, or a distinctive word of the name. Identical statuses or shared texts
    are no evidence: unrelated services are "Not available" alike. Only cells of
    ``columns`` (those both versions of the section have) count.
    """
    union = {k for k in old.cells.keys() | new.cells.keys() if k[1] in columns}
    common = [k for k in new.cells if k in old.cells and k[1] in columns]
    if not union or len(common) < _SAME_SHAPE * len(union):
        return None
    distinctive = bool(_words(old.name) & _words(new.name))
    status_cells = status_hits = text_cells = 0
    status_score = text_score = 0.0
    for k in common:
        a, b = old.cells[k], new.cells[k]
        if a.status is None and b.status is None:
            similarity = _text_similarity(a, b)
            text_cells += 1
            text_score += similarity
            if similarity >= _ALIKE_TEXT and a.raw in own[0] and b.raw in own[1]:
                distinctive = True
        else:
            status_cells += 1
            if _status_signature(a) == _status_signature(b):
                status_hits += 1
                status_score += 1.0 if a.raw == b.raw else 0.9
    if (
        not distinctive
        or status_hits < _SAME_STATUS * status_cells
        or text_score < _ALIKE_TEXT * text_cells
    ):
        return None
    # Name likeness only breaks ties between otherwise equal candidates.
    name_likeness = _jaccard(_words(old.name), _words(new.name))
    return (status_score + text_score) / len(union) + 0.01 * name_likeness


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


def _severity(old: Record, new: Record) -> Severity:
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


# ---------------------------------------------------------------------------------------
# Attributes: rows and columns that appear or disappear


class _Attr(NamedTuple):
    """A row (column None), a column (row None), or one cell (both set)."""

    row: str | None
    column: str | None


def _attributes(
    cells: dict[CellKey, Record], others: dict[CellKey, Record]
) -> dict[_Attr, list[Record]]:
    """The cells of ``cells`` missing from ``others``, grouped by what went missing: a
    whole row, else a whole column, else the single cell."""
    rows = {r for r, _ in others}
    columns = {c for _, c in others}
    groups: dict[_Attr, list[Record]] = {}
    for (r, c), record in cells.items():
        if (r, c) in others:
            continue
        if r not in rows:
            attr = _Attr(r, None)
        elif c not in columns:
            attr = _Attr(None, c)
        else:
            attr = _Attr(r, c)
        groups.setdefault(attr, []).append(record)
    return groups


def _holds(section: _Section, attr: _Attr) -> bool:
    """Whether any cell of the section has this row (or column) key."""
    if attr.row is not None:
        return any(r.row_key == attr.row for r in section.records())
    return any(r.column_key == attr.column for r in section.records())


def _section_wide(
    pairs: Sequence[tuple[dict[CellKey, Record], dict[CellKey, Record]]], after: _Section
) -> dict[_Attr, list[Record]]:
    """Rows and columns that left a whole section: missing from at least two of its paired
    entities, and from every cell of the section ``after``. Called with the pairs swapped
    and the old section, the rows and columns that joined it."""
    counts: dict[_Attr, int] = {}
    cells: dict[_Attr, list[Record]] = {}
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


# ---------------------------------------------------------------------------------------
# Building the changes


class _Place(NamedTuple):
    """Where a change is reported: a section and entity of the new page (display, key);
    the entity is empty for a change to a whole section."""

    section: str
    section_key: str
    entity: str = ""
    entity_key: str = ""


def _place_of(entity: _Entity) -> _Place:
    return _Place(entity.section, entity.section_key, entity.name, entity.key)


def _attribute_change(
    kind: ChangeKind, records: Sequence[Record], attr: _Attr, place: _Place
) -> Change:
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


def _cell_change(old: Record, new: Record, place: _Place) -> Change | None:
    """The change of one cell, or None when it says the same: the same status, the same
    link targets (normal forms, in any order) and the same words. Separators, spacing and
    case are rendering (a ``<br/>`` lost, a comma for a line break), not content."""
    retargeted = set(old.links) != set(new.links)
    kind: ChangeKind
    severity: Severity
    if _status_signature(old) != _status_signature(new):
        kind, severity = "status_changed", _severity(old, new)
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


def _entity_change(kind: ChangeKind, entity: _Entity) -> Change:
    return Change(
        kind=kind,
        severity="notice" if kind == "entity_added" else "warning",
        section=entity.section,
        entity=entity.name,
        section_key=entity.section_key,
        entity_key=entity.key,
        cells=tuple(entity.cells.values()),
    )


def _identity_change(old: _Entity, new: _Entity, *, moved: bool) -> Change | None:
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


def _section_change(old: _Section | None, new: _Section, cells: Iterable[Record]) -> Change | None:
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


def _records_of(section: _Section, skip: Container[EntityId]) -> Iterator[Record]:
    for entity in section.entities.values():
        if entity.ident not in skip:
            yield from entity.cells.values()


@dataclass(slots=True)
class _Differ:
    old: _Page
    new: _Page
    pairing: _Pairing

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
                out.append(
                    Change(
                        kind="section_removed",
                        severity="notice",
                        section=section.title,
                        entity="",
                        section_key=key,
                        cells=tuple(_records_of(section, self.pairing.paired_old)),
                    )
                )
            else:
                old_key = heading_of.get(key)
                old = self.old[old_key] if old_key is not None else None
                out.extend(self._section(old, self.new[key]))
        return out

    def _section(self, old: _Section | None, new: _Section) -> Iterator[Change]:
        change = _section_change(old, new, _records_of(new, self.pairing.partners))
        if change is not None:
            yield change
        old_key = old.key if old is not None else None
        # Entities paired within this pair of sections; moved ones are judged on their own.
        stayed = [
            (o, n)
            for n in new.entities.values()
            if (o := self.pairing.partners.get(n.ident)) is not None and o.section_key == old_key
        ]
        lost: dict[_Attr, list[Record]] = {}
        gained: dict[_Attr, list[Record]] = {}
        if old is not None:
            lost = _section_wide([(o.cells, n.cells) for o, n in stayed], new)
            gained = _section_wide([(n.cells, o.cells) for o, n in stayed], old)
            yield from _wide_changes(old, new, lost, gained)
        for side, key in self._entity_order(old, new):
            if side == "old" and old is not None:
                yield _entity_change("entity_removed", old.entities[key])
                continue
            entity = new.entities[key]
            partner = self.pairing.partners.get(entity.ident)
            if partner is None:
                if old is not None:  # else it is one of the added section's cells
                    yield _entity_change("entity_added", entity)
                continue
            moved = partner.section_key != old_key
            change = _identity_change(partner, entity, moved=moved)
            if change is not None:
                yield change
            if moved:
                yield from _entity_cells(partner, entity, set(), set())
            else:
                yield from _entity_cells(partner, entity, lost.keys(), gained.keys())

    def _entity_order(self, old: _Section | None, new: _Section) -> list[tuple[str, str]]:
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
    old: _Section,
    new: _Section,
    lost: dict[_Attr, list[Record]],
    gained: dict[_Attr, list[Record]],
) -> Iterator[Change]:
    """Section-wide row and column changes: rows first, then columns, in page order."""
    rows = _positions((r.row_key for r in new.records()), (r.row_key for r in old.records()))
    columns = _positions(
        (r.column_key for r in new.records()), (r.column_key for r in old.records())
    )
    place = _Place(new.title, new.key)
    found: list[tuple[tuple[int, int], Change]] = []
    sides: tuple[tuple[ChangeKind, dict[_Attr, list[Record]]], ...] = (
        ("attribute_removed", lost),
        ("attribute_added", gained),
    )
    for kind, groups in sides:
        for attr, cells in groups.items():
            where = (0, rows[attr.row]) if attr.row is not None else (1, columns[attr.column or ""])
            found.append((where, _attribute_change(kind, cells, attr, place)))
    found.sort(key=lambda item: item[0])
    for _, change in found:
        yield change


def _entity_cells(
    old: _Entity, new: _Entity, wide_lost: Container[_Attr], wide_gained: Container[_Attr]
) -> Iterator[Change]:
    """Attribute and cell changes of one paired entity, by row then column on the new page
    (a removed row or column where it stood on the old one). Rows and columns that left or
    joined the whole section are reported once for the section, not here."""
    place = _place_of(new)
    found: list[tuple[_Attr, Change]] = []
    if old.cells.keys() != new.cells.keys():
        sides: tuple[tuple[ChangeKind, dict[_Attr, list[Record]], Container[_Attr]], ...] = (
            ("attribute_removed", _attributes(old.cells, new.cells), wide_lost),
            ("attribute_added", _attributes(new.cells, old.cells), wide_gained),
        )
        for kind, groups, wide in sides:
            for attr, cells in groups.items():
                if attr not in wide:
                    found.append((attr, _attribute_change(kind, cells, attr, place)))
    for k, record in new.cells.items():
        before = old.cells.get(k)
        if before is not None and before != record:
            change = _cell_change(before, record, place)
            if change is not None:
                found.append((_Attr(*k), change))
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


def diff(old: Document, new: Document) -> list[Change]:
    """The typed changes from ``old`` to ``new``, in the new page's order (removed things
    where they stood on the old page). Pure and deterministic; ``diff(a, a) == []``."""
    before, after = _index(old.records), _index(new.records)
    pairing = _pair_entities(before, after, _pair_sections(before, after))
    return _Differ(before, after, pairing).changes()


# ---------------------------------------------------------------------------------------
# Replaying a change set

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
    entities: dict[EntityId, Change] = {}
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
