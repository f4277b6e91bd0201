"""Table shapes, and what happens to cells whose keys would collide."""

from __future__ import annotations

import pytest

from watcher.domain.document import Document
from watcher.parse import parse


def _md(text: str) -> Document:
    return parse(text.encode(), "markdown")


def _rows(doc: Document) -> list[tuple[str, str, str, str, str, str | None]]:
    return [(r.section, r.entity, r.row, r.column, r.raw, r.status) for r in doc.records]


MATRIX = """| Managed identity type | Azure Global |
|---|---|
| System assigned | Available |
"""


def test_table_without_heading_has_empty_section_and_entity() -> None:
    doc = _md(MATRIX)
    assert _rows(doc) == [("", "", "System assigned", "Azure Global", "Available", "available")]


def test_two_tables_under_one_heading_keep_every_cell() -> None:
    doc = _md(f"## S\n### Svc\n{MATRIX}\n{MATRIX.replace('Available', 'Preview')}")
    assert [(r.entity, r.entity_key, r.raw) for r in doc.records] == [
        ("Svc", "svc", "Available"),
        ("Svc (2)", "svc2", "Preview"),
    ]
    assert doc.warnings == (
        "table 2 under 'S › Svc': 'Svc' appears again in this section; read as 'Svc (2)'",
    )


def test_the_same_service_in_two_sections_is_two_entities() -> None:
    doc = _md(f"## A\n### Svc\n{MATRIX}\n## B\n### Svc\n{MATRIX}")
    assert [(r.section_key, r.entity_key) for r in doc.records] == [("a", "svc"), ("b", "svc")]
    assert doc.warnings == ()


def test_repeated_rows_and_columns_are_renamed_not_dropped() -> None:
    text = """### Svc
| Managed identity type | Azure Global | Global |
|---|---|---|
| System assigned | Available | Preview |
| System-assigned | Not available | Preview |
"""
    doc = _md(text)
    assert [(r.row, r.row_key, r.column, r.column_key) for r in doc.records] == [
        ("System assigned", "system_assigned", "Azure Global", "global"),
        ("System assigned", "system_assigned", "Global (2)", "global2"),
        ("System-assigned (2)", "systemassigned2", "Azure Global", "global"),
        ("System-assigned (2)", "systemassigned2", "Global (2)", "global2"),
    ]
    assert len(doc.warnings) == 2


def test_flat_table_rows_are_entities() -> None:
    text = """## Services
| Service Name | Documentation |
|---|---|
| Azure Arc enabled servers | [Authenticate](a.md) |
| Azure SQL | |
"""
    doc = _md(text)
    assert [
        (r.entity, r.entity_key, r.row, r.column_key, r.raw, r.status, r.links) for r in doc.records
    ] == [
        (
            "Azure Arc enabled servers",
            "azurearcenabledservers",
            "",
            "documentation",
            "Authenticate",
            None,
            # In normal form: a sibling of the page's article, whichever repository it is in.
            ("/entra/identity/managed-identities-azure-resources/a",),
        ),
        ("Azure SQL", "azuresql", "", "documentation", "", None, ()),
    ]


def test_flat_table_with_repeating_first_cells_names_entities_by_two_cells() -> None:
    text = """## Types
| Namespace | ResourceType | Identity types(s) |
| --- | --- | --- |
| Microsoft.Sql | servers | System-assigned<br/>User-assigned |
| Microsoft.Sql | servers/databases | User-assigned |
| Microsoft.Web | sites | |
"""
    doc = _md(text)
    assert [(r.entity, r.row_key, r.raw, r.status) for r in doc.records] == [
        ("Microsoft.Sql/servers", "system_assigned", "System-assigned", "available"),
        ("Microsoft.Sql/servers", "user_assigned", "User-assigned", "available"),
        ("Microsoft.Sql/servers/databases", "system_assigned", "", "not_available"),
        ("Microsoft.Sql/servers/databases", "user_assigned", "User-assigned", "available"),
        ("Microsoft.Web/sites", "system_assigned", "", "unknown"),
        ("Microsoft.Web/sites", "user_assigned", "", "unknown"),
    ]
    assert {(r.column, r.column_key) for r in doc.records} == {
        ("Identity types(s)", "identity_types")
    }
    assert doc.warnings == (
        "table 1 under 'Types': 'Microsoft.Web/sites' lists no identity types: its identity"
        " types read as unknown",
    )


_TYPES = "## Types\n| Namespace | ResourceType | Identity types(s) |\n| --- | --- | --- |\n"


@pytest.mark.parametrize(
    "cell",
    [
        "System-assigned<br/>User-assigned",
        "System-assigned<br>User-assigned",
        "System-assigned</BR>User-assigned",
        "System-assigned <br /> User-assigned",
        "System-assigned, User-assigned",
        "System-assignedUser-assigned",
        "system assigned and user assigned",
        "User-assigned<br/>System-assigned",
    ],
)
def test_identity_types_read_the_same_in_every_rendering(cell: str) -> None:
    doc = _md(_TYPES + f"| Microsoft.Web | sites | {cell} |\n| Microsoft.Web | slots | x |\n")
    web = [r for r in doc.records if r.entity == "Microsoft.Web/sites"]
    assert [(r.row_key, r.status) for r in web] == [
        ("system_assigned", "available"),
        ("user_assigned", "available"),
    ]
    assert [r.raw.replace(" ", "-").casefold() for r in web] == ["system-assigned", "user-assigned"]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (
            "User-assigned (preview)",
            [("", "not_available"), ("User-assigned (preview)", "preview")],
        ),
        (
            "System-assigned<br/>User-assigned (Preview)",
            [("System-assigned", "available"), ("User-assigned (Preview)", "preview")],
        ),
        ("System-assigned", [("System-assigned", "available"), ("", "not_available")]),
        # A translation, or anything besides identity types: nothing is guessed.
        ("Sistem tarafından atanan", [("Sistem tarafından atanan", "unknown")] * 2),
        ("System-assigned<br/>Coming soon", [("System-assigned<br>Coming soon", "unknown")] * 2),
    ],
)
def test_identity_type_statuses(cell: str, expected: list[tuple[str, str]]) -> None:
    doc = _md(_TYPES + f"| Microsoft.Web | sites | {cell} |\n| Microsoft.Web | slots | x |\n")
    web = [r for r in doc.records if r.entity == "Microsoft.Web/sites"]
    assert [(r.raw, r.status) for r in web] == expected


def test_a_two_column_flat_table_with_repeats_renames_the_repeat() -> None:
    text = "| Service | Documentation |\n|---|---|\n| SQL | a |\n| SQL | b |\n"
    doc = _md(text)
    assert [(r.entity, r.raw) for r in doc.records] == [("SQL", "a"), ("SQL (2)", "b")]
    assert len(doc.warnings) == 1


def test_flat_status_column_is_classified() -> None:
    text = (
        "## S\n| Service | Resource ID | Status |\n|---|---|---|\n"
        "| Key Vault | `https://vault` | Preview |\n"
    )
    doc = _md(text)
    assert [(r.column_key, r.status) for r in doc.records] == [
        ("resource_id", None),
        ("status", "preview"),
    ]


def test_unknown_table_under_an_entity_is_read_as_statuses_and_not_guessed() -> None:
    # A translated matrix keeps its shape: every value cell is a status cell, unknown.
    text = "### Svc\n| 種類 | グローバル |\n|---|---|\n| システム | 利用可能 |\n"
    assert _rows(_md(text)) == [("", "Svc", "システム", "グローバル", "利用可能", "unknown")]


def test_empty_and_header_only_tables_count_but_give_no_records() -> None:
    text = "| a | b |\n|---|---|\n\n| c | d |\n|---|---|\n| | |\n\n" + MATRIX
    doc = _md(text)
    assert doc.tables == 3
    assert len(doc.records) == 1


def test_empty_status_cell_is_unknown_and_empty_text_cell_is_none() -> None:
    text = "### Svc\n| Cloud | Resource ID | Status |\n|---|---|---|\n| Azure Germany | | |\n"
    assert [(r.raw, r.status) for r in _md(text).records] == [("", None), ("", "unknown")]


def test_h1_resets_section_and_entity() -> None:
    text = f"## S\n### Svc\n# New page part\n{MATRIX}"
    assert _rows(_md(text))[0][:2] == ("", "")


def test_h4_does_not_change_the_entity() -> None:
    text = f"## S\n### Svc\n#### Notes\n{MATRIX}"
    assert _rows(_md(text))[0][:2] == ("S", "Svc")


def test_nested_table_is_read_within_its_cell() -> None:
    html = (
        "<h3>Svc</h3><table><tr><th>Managed identity type</th><th>Azure Global</th></tr>"
        "<tr><td>System assigned</td><td><table><tr><td>Preview</td></tr></table></td></tr></table>"
    )
    doc = parse(html.encode(), "html")
    assert doc.tables == 1
    assert [(r.row_key, r.raw, r.status) for r in doc.records] == [
        ("system_assigned", "Preview", "preview")
    ]


def test_an_identity_types_column_under_row_labels_is_text_and_keys_stay_unique() -> None:
    text = (
        "### Azure Functions\n| Managed identity type | Identity types |\n| --- | --- |\n"
        "| System assigned | System-assigned |\n| User assigned | User-assigned |\n"
    )
    doc = _md(text)
    assert len({r.key for r in doc.records}) == len(doc.records) == 2
