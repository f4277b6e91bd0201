"""Properties of diff/apply on documents derived from real pages.

Two variants of one base page are drawn by mutating it (statuses, texts, entities dropped,
added, renamed or moved, a column or a row dropped, a heading renamed, a section added),
and the diff between them must be empty on itself, replayable (``apply``), and mirrored
when taken the other way round. The bases are real pages of the corpus when it is there,
and always a hand-built matrix page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import CORPUS
from watcher.domain.diff import apply, diff
from watcher.domain.document import STATUS_RANK, Change, Document, Record, Status, normalize

REPO = Path(__file__).resolve().parents[2]
REAL_PAGES = (
    "en/2019-06-19__MicrosoftDocs__a4b043d.md",
    "en/2021-11-09__MicrosoftDocs__03436ea.md",
    "status-page/2025-05-09__MicrosoftDocs-entra-docs__41d266e.md",
)
REAL_PAIRS = (
    ("en/2019-06-19__MicrosoftDocs__a4b043d.md", "en/2021-01-28__MicrosoftDocs.md"),
    ("en/2021-01-28__MicrosoftDocs.md", "en/2021-11-09__MicrosoftDocs__03436ea.md"),
    (
        "status-page/2021-12-08__MicrosoftDocs__00605c9.md",
        "status-page/2023-05-25__MicrosoftDocs__6f6728e.md",
    ),
    (
        "status-page/2023-05-25__MicrosoftDocs__6f6728e.md",
        "status-page/2025-05-09__MicrosoftDocs-entra-docs__41d266e.md",
    ),
)


def key_of(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def record(
    section: str,
    entity: str,
    row: str,
    column: str,
    raw: str,
    status: Status | None,
    parts: tuple[tuple[str, str], ...] = (),
) -> Record:
    return Record(
        section, entity, row, column, raw, status,
        key_of(section), key_of(entity), key_of(row), key_of(column), parts,
    )  # fmt: skip


def hand_built() -> Document:
    """A small matrix page and a Cloud / Resource ID / Status section, as the 2019-2021
    pages have them."""
    clouds = ("Global", "Azure Government", "Azure Germany", "Azure China")
    words: dict[str, Status] = {
        "Available": "available",
        "Preview": "preview",
        "Not available": "not_available",
    }
    matrix = "Services that support managed identities"
    records = []
    for i, service in enumerate(("Azure Functions", "Azure Batch", "Azure Maps", "Azure SQL")):
        for j, row in enumerate(("System assigned", "User assigned")):
            for k, cloud in enumerate(clouds):
                raw = list(words)[(i + j + k) % 3]
                records.append(record(matrix, service, row, cloud, raw, words[raw]))
    auth = "Services that support Azure AD authentication"
    for service, host in (("Azure Key Vault", "vault"), ("Azure Storage", "storage")):
        for cloud in clouds:
            records.append(record(auth, service, cloud, "Resource ID", f"https://{host}", None))
            records.append(record(auth, service, cloud, "Status", "Available", "available"))
    return Document(tuple(records))


def _bases() -> list[Document]:
    bases = [hand_built()]
    from watcher.parse import parse

    bases += [parse((CORPUS / name).read_bytes(), "markdown") for name in REAL_PAGES]
    return bases


BASES = _bases()

# ---------------------------------------------------------------------------------------
# Mutations: each draws what to change and returns the new record list.

Records = list[Record]
T = TypeVar("T", str, tuple[str, str])

STATUS_CELLS: tuple[tuple[str, Status, tuple[tuple[str, str], ...]], ...] = (
    ("Available", "available", ()),
    ("Preview", "preview", ()),
    ("Not available", "not_available", ()),
    ("Public preview", "preview", ()),
    ("-", "unknown", ()),
    (
        "Linux: Preview<br>Windows: Not available",
        "mixed",
        (("Linux", "preview"), ("Windows", "not_available")),
    ),
    (
        "Linux: Available<br>Windows: Preview",
        "mixed",
        (("Linux", "available"), ("Windows", "preview")),
    ),
)
NAMES = ("Azure Foo", "Azure Container Apps", "Azure Spring Apps", "Contoso Widgets", "Azure Bar")


def _pick(draw: st.DrawFn, items: Sequence[T]) -> T:
    return draw(st.sampled_from(sorted(set(items), key=str)))


def set_status(draw: st.DrawFn, records: Records) -> Records:
    indexes = [i for i, r in enumerate(records) if r.status is not None]
    if not indexes:
        return records
    i = draw(st.sampled_from(indexes))
    raw, status, parts = draw(st.sampled_from(STATUS_CELLS))
    records[i] = replace(records[i], raw=raw, status=status, parts=parts)
    return records


def set_text(draw: st.DrawFn, records: Records) -> Records:
    indexes = [i for i, r in enumerate(records) if r.status is None]
    if not indexes:
        return records
    i = draw(st.sampled_from(indexes))
    raw = draw(st.sampled_from(("", "https://example.net", records[i].raw + " (see also)")))
    records[i] = replace(records[i], raw=raw)
    return records


def set_link(draw: st.DrawFn, records: Records) -> Records:
    """A cell's link retargeted to another article (links are in normal form)."""
    i = draw(st.sampled_from(range(len(records))))
    target = draw(st.sampled_from(("/azure/develop/configure-app-multi-instancing", "")))
    records[i] = replace(records[i], links=(target,) if target else ())
    return records


def rerender(draw: st.DrawFn, records: Records) -> Records:
    """The same words rendered otherwise: separators lost or swapped, case, padding."""
    i = draw(st.sampled_from(range(len(records))))
    how = draw(st.sampled_from((" ", ", ", "", "  ")))
    raw = records[i].raw.replace("<br>", how)
    records[i] = replace(records[i], raw=draw(st.sampled_from((raw, raw.upper(), f" {raw} "))))
    return records


def _entity(draw: st.DrawFn, records: Records) -> tuple[str, str]:
    return _pick(draw, [(r.section_key, r.entity_key) for r in records])


def drop_entity(draw: st.DrawFn, records: Records) -> Records:
    ident = _entity(draw, records)
    return [r for r in records if (r.section_key, r.entity_key) != ident]


def add_entity(draw: st.DrawFn, records: Records) -> Records:
    """A new service shaped like an existing one, right after it."""
    ident = _entity(draw, records)
    name = draw(st.sampled_from(NAMES))
    if any((r.section_key, r.entity_key) == (ident[0], key_of(name)) for r in records):
        return records
    template = [r for r in records if (r.section_key, r.entity_key) == ident]
    copies = [replace(r, entity=name, entity_key=key_of(name)) for r in template]
    at = records.index(template[-1]) + 1
    return records[:at] + copies + records[at:]


def rename_entity(draw: st.DrawFn, records: Records) -> Records:
    """A new display text: the same normal form (a hyphen), or a new name altogether."""
    ident = _entity(draw, records)
    old = next(r.entity for r in records if (r.section_key, r.entity_key) == ident)
    name = draw(st.sampled_from((old.replace(" ", "-", 1), old + " v2", "Renamed service")))
    if key_of(name) != ident[1] and any(
        (r.section_key, r.entity_key) == (ident[0], key_of(name)) for r in records
    ):
        return records
    return [
        replace(r, entity=name, entity_key=key_of(name))
        if (r.section_key, r.entity_key) == ident
        else r
        for r in records
    ]


def move_entity(draw: st.DrawFn, records: Records) -> Records:
    ident = _entity(draw, records)
    target = _pick(draw, [r.section_key for r in records])
    if target == ident[0] or any(
        (r.section_key, r.entity_key) == (target, ident[1]) for r in records
    ):
        return records
    title = next(r.section for r in records if r.section_key == target)
    moving = [
        replace(r, section=title, section_key=target)
        for r in records
        if (r.section_key, r.entity_key) == ident
    ]
    rest = [r for r in records if (r.section_key, r.entity_key) != ident]
    at = max(i for i, r in enumerate(rest) if r.section_key == target) + 1
    return rest[:at] + moving + rest[at:]


def drop_column(draw: st.DrawFn, records: Records) -> Records:
    """A column (a cloud, Resource ID...) gone from a whole section."""
    section, column = _pick(draw, [(r.section_key, r.column_key) for r in records])
    return [r for r in records if (r.section_key, r.column_key) != (section, column)]


def drop_row(draw: st.DrawFn, records: Records) -> Records:
    """One row of one entity gone (User assigned, Azure Germany...)."""
    ident = _entity(draw, records)
    row = _pick(draw, [r.row_key for r in records if (r.section_key, r.entity_key) == ident])
    return [r for r in records if (r.section_key, r.entity_key, r.row_key) != (*ident, row)]


def rename_section(draw: st.DrawFn, records: Records) -> Records:
    section = _pick(draw, [r.section_key for r in records])
    title = next(r.section for r in records if r.section_key == section)
    new = draw(st.sampled_from((title.upper(), "Renamed " + title)))
    if key_of(new) != section and any(r.section_key == key_of(new) for r in records):
        return records
    return [
        replace(r, section=new, section_key=key_of(new)) if r.section_key == section else r
        for r in records
    ]


def add_section(draw: st.DrawFn, records: Records) -> Records:
    """A new H2 at the end, holding a copy of one entity under a new name."""
    ident = _entity(draw, records)
    title = draw(st.sampled_from(("Resource providers", "More services")))
    if any(r.section_key == key_of(title) for r in records):
        return records
    copies = [
        replace(r, section=title, section_key=key_of(title), entity=r.entity + " (classic)")
        for r in records
        if (r.section_key, r.entity_key) == ident
    ]
    return records + [replace(r, entity_key=key_of(r.entity)) for r in copies]


MUTATIONS = (
    set_status,
    set_text,
    set_link,
    rerender,
    drop_entity,
    add_entity,
    rename_entity,
    move_entity,
    drop_column,
    drop_row,
    rename_section,
    add_section,
)


@st.composite
def variant(draw: st.DrawFn, base: Document) -> Document:
    records = list(base.records)
    for mutate in draw(st.lists(st.sampled_from(MUTATIONS), max_size=6)):
        if records:
            records = mutate(draw, records)
    return Document(tuple(records))


@st.composite
def two_variants(draw: st.DrawFn) -> tuple[Document, Document]:
    base = draw(st.sampled_from(BASES))
    return draw(variant(base)), draw(variant(base))


# ---------------------------------------------------------------------------------------
# What a change set says, as facts comparable across directions

_OPPOSITE = {
    "entity_added": "entity_removed",
    "entity_removed": "entity_added",
    "section_added": "section_removed",
    "section_removed": "section_added",
    "attribute_added": "attribute_removed",
    "attribute_removed": "attribute_added",
}
_SWAP_SEVERITY = {"notice": "warning", "warning": "notice", "info": "info"}


def _ranked(status: str | None) -> bool:
    return status in STATUS_RANK or status in (None, "unknown")


def facts(changes: Sequence[Change], *, backward: bool = False) -> Counter[tuple[object, ...]]:
    """One tuple per change, in the terms of the forward diff: a backward change is turned
    into the forward change it mirrors (kinds, old/new and severities swapped, entities
    named as the forward diff names them)."""
    # Cell changes of a renamed or moved entity are reported under its newer identity;
    # the backward diff's newer identity is the forward diff's older one.
    ident: dict[tuple[str, str], tuple[str, str]] = {}
    heading: dict[str, str] = {}
    if backward:
        for c in changes:
            if c.kind in ("entity_renamed", "entity_moved") and c.old_section_key is not None:
                if c.old_entity_key is None:
                    heading[c.section_key] = c.old_section_key
                else:
                    ident[(c.section_key, c.entity_key)] = (c.old_section_key, c.old_entity_key)

    def where(c: Change) -> tuple[str, str]:
        here = (c.section_key, c.entity_key)
        return ident.get(here) or (heading.get(c.section_key, c.section_key), c.entity_key)

    out: Counter[tuple[object, ...]] = Counter()
    for c in changes:
        cells = frozenset((r.key, r.raw, r.status) for r in c.cells)
        if c.kind in ("entity_renamed", "entity_moved"):
            # A heading change (no entity) has no old entity key.
            old_entity_key = c.entity_key if c.old_entity_key is None else c.old_entity_key
            ends = frozenset({(c.section_key, c.entity_key), (c.old_section_key, old_entity_key)})
            names = frozenset({c.entity, c.old_entity or c.entity})
            sections = frozenset({c.section, c.old_section}) if c.kind == "entity_moved" else None
            out[(c.kind, ends, names, sections)] += 1
        elif c.kind in ("status_changed", "value_changed", "link_changed"):
            old = (c.old_raw, c.old_status, c.old_links)
            new = (c.new_raw, c.new_status, c.new_links)
            severity: str | None = c.severity
            if backward:
                old, new = new, old
                severity = _SWAP_SEVERITY[c.severity]
            if not (_ranked(c.old_status) and _ranked(c.new_status)):
                severity = None  # mixed cells can regress both ways (one part each way)
            out[(c.kind, *where(c), c.row, c.column, old, new, severity)] += 1
        elif c.kind.startswith("attribute_"):
            kind = _OPPOSITE[c.kind] if backward else c.kind
            out[(kind, *where(c), c.row, c.column, cells)] += 1
        else:
            # Added and removed entities and sections stand where their own page has them,
            # in both directions. Their severity follows from the kind (entity_added is a
            # notice, its mirror entity_removed a warning), which the unit tests check.
            kind = _OPPOSITE[c.kind] if backward else c.kind
            out[(kind, c.section_key, c.entity_key, cells)] += 1
    return out


def state(records: Sequence[Record]) -> dict[tuple[str, str, str, str], tuple[object, ...]]:
    """What each cell says: its words (not their rendering), status and link targets."""
    return {r.key: (normalize(r.raw), r.status, frozenset(r.links)) for r in records}


# ---------------------------------------------------------------------------------------
# The properties


@settings(deadline=None, max_examples=100)
@given(st.sampled_from(BASES).flatmap(variant))
def test_a_page_has_no_changes_against_itself(doc: Document) -> None:
    assert diff(doc, doc) == []


@st.composite
def rerendered(draw: st.DrawFn) -> tuple[Document, Document]:
    base = draw(st.sampled_from(BASES))
    records = list(base.records)
    for _ in range(draw(st.integers(1, 20))):
        records = rerender(draw, records)
    return base, Document(tuple(records))


@settings(deadline=None, max_examples=100)
@given(rerendered())
def test_a_re_rendering_has_no_changes(pair: tuple[Document, Document]) -> None:
    a, b = pair
    assert diff(a, b) == []


@settings(deadline=None, max_examples=100)
@given(two_variants())
def test_applying_the_diff_gives_the_new_records(pair: tuple[Document, Document]) -> None:
    a, b = pair
    assert state(apply(a, diff(a, b))) == state(b.records)


@settings(deadline=None, max_examples=100)
@given(two_variants())
def test_the_diff_back_mirrors_the_diff_there(pair: tuple[Document, Document]) -> None:
    a, b = pair
    assert facts(diff(b, a), backward=True) == facts(diff(a, b))


@settings(deadline=None, max_examples=100)
@given(two_variants())
def test_the_diff_is_deterministic(pair: tuple[Document, Document]) -> None:
    a, b = pair
    assert diff(a, b) == diff(Document(tuple(a.records)), Document(tuple(b.records)))


@pytest.mark.parametrize("names", REAL_PAIRS, ids=lambda names: names[1].split("/")[-1][:10])
def test_real_pairs_mirror_and_replay(names: tuple[str, str]) -> None:
    from watcher.parse import parse

    a, b = (parse((CORPUS / name).read_bytes(), "markdown") for name in names)
    assert facts(diff(b, a), backward=True) == facts(diff(a, b))
    assert state(apply(b, diff(b, a))) == state(a.records)
