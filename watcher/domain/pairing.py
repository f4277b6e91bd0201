"""Pairing: which section and entity of the new page is which of the old one.

The first half of the semantic diff (watcher.domain.diff): the two pages are indexed
(sections → entities → cells, in page order) and paired from the surest evidence to the
weakest, as that module's docstring tells. watcher.domain.emitting reports the changes of
what was paired and what was left over. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Container, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from watcher.domain.document import Record

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
class Entity:
    """One entity (a service) of a page: its cells by (row, column) key."""

    section_key: str
    key: str
    section: str  # display texts, from the entity's first record
    name: str
    cells: dict[CellKey, Record] = field(default_factory=dict)  # page order

    @property
    def ident(self) -> EntityId:
        return (self.section_key, self.key)


@dataclass(slots=True)
class Section:
    """One section of a page: its entities by key."""

    key: str
    title: str
    entities: dict[str, Entity] = field(default_factory=dict)  # page order

    def records(self) -> Iterator[Record]:
        for entity in self.entities.values():
            yield from entity.cells.values()


Page = dict[str, Section]


def index(records: Iterable[Record]) -> Page:
    """Sections → entities → cells in page order. A key seen twice keeps its first record:
    the parser makes keys unique, and a diff must not fail on a page that slipped through."""
    page: Page = {}
    for r in records:
        section = page.get(r.section_key)
        if section is None:
            section = page[r.section_key] = Section(r.section_key, r.section)
        entity = section.entities.get(r.entity_key)
        if entity is None:
            entity = section.entities[r.entity_key] = Entity(
                r.section_key, r.entity_key, r.section, r.entity
            )
        entity.cells.setdefault((r.row_key, r.column_key), r)
    return page


# ---------------------------------------------------------------------------------------
# Pairing


@dataclass(slots=True)
class Pairing:
    """What pairing found: old section keys to new ones, and each new entity's old one."""

    sections: dict[str, str]  # old section key → new section key
    partners: dict[EntityId, Entity] = field(default_factory=dict)  # new entity → old
    paired_old: set[EntityId] = field(default_factory=set)

    def pair(self, old: Entity, new: Entity) -> None:
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


def _pair_sections(old: Page, new: Page) -> dict[str, str]:
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


def pair(old: Page, new: Page) -> Pairing:
    """Which section and entity of ``new`` is which of ``old``, from the surest evidence to
    the weakest: sections, entities by key, moves, renames."""
    sections = _pair_sections(old, new)
    pairing = Pairing(sections)
    for o_key, n_key in sections.items():
        after = new[n_key].entities
        for key, entity in old[o_key].entities.items():
            if key in after:
                pairing.pair(entity, after[key])
    _pair_moves(old, new, pairing)
    for o_key, n_key in sections.items():
        _pair_renames(old[o_key], new[n_key], pairing)
    return pairing


def _pair_moves(old: Page, new: Page, pairing: Pairing) -> None:
    """An entity key unpaired in an old section and unpaired in a new one is one entity that
    moved. If it stood in several sections, the occurrences pair in page order."""
    gone: dict[str, list[Entity]] = {}
    for section in old.values():
        for e in section.entities.values():
            if e.ident not in pairing.paired_old:
                gone.setdefault(e.key, []).append(e)
    for section in new.values():
        for e in section.entities.values():
            candidates = gone.get(e.key)
            if e.ident not in pairing.partners and candidates:
                pairing.pair(candidates.pop(0), e)


def _pair_renames(old: Section, new: Section, pairing: Pairing) -> None:
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


def status_signature(r: Record) -> tuple[object, ...]:
    """What a cell says about status: a status change is a change of this."""
    # The labels of a mixed cell are wording; which part has which status is the status.
    return (r.status, tuple(status for _, status in r.parts))


def _text_similarity(a: Record, b: Record) -> float:
    if a.raw == b.raw:
        return 1.0
    similarity = _jaccard(_words(a.raw), _words(b.raw))
    # The same documentation target under a reworded title is the same documentation.
    return max(similarity, 0.9) if _same_link(a, b) else similarity


def _own_texts(section: Section) -> frozenset[str]:
    """Texts of non-status cells that only one entity of the section has: a documentation
    title, a Resource ID. Texts many entities share ("System-assigned<br>User-assigned")
    tell nothing about which entity is which."""
    holders: dict[str, int] = {}
    for entity in section.entities.values():
        for text in {r.raw for r in entity.cells.values() if r.status is None and r.raw.strip()}:
            holders[text] = holders.get(text, 0) + 1
    return frozenset(text for text, count in holders.items() if count == 1)


def _rename_score(
    old: Entity,
    new: Entity,
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
            if status_signature(a) == status_signature(b):
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
