"""Every real version of the page in the corpus, parsed from its markdown.

The expected numbers below were counted from the markdown files with grep and awk, not
taken from the parser; how is written beside each. The golden files hold every record
and were reviewed by eye before being checked in (tests/data/make_golden.py).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from watcher.domain.document import Document, Record
from watcher.parse import parse

from . import CORPUS, CORPUS_FILES, corpus_file, document_to_json, golden_path

PREDECESSOR = "predecessor/2018-11-28__MicrosoftDocs__1c59c71__services-support-msi.md"
V2019 = "en/2019-06-19__MicrosoftDocs__a4b043d.md"
V2021_01 = "en/2021-01-28__MicrosoftDocs.md"
V2021_11 = "en/2021-11-09__MicrosoftDocs__03436ea.md"
JA = "localized/ja-JP_2021-01-28.md"
STATUS_2021 = "status-page/2021-12-08__MicrosoftDocs__00605c9.md"
STATUS_2023 = "status-page/2023-05-25__MicrosoftDocs__6f6728e.md"
STATUS_2025 = "status-page/2025-05-09__MicrosoftDocs-entra-docs__41d266e.md"

# How these were counted, per file F:
#   tables:  grep -cE '^\|? *:?-{3,}:? *\|' F            (delimiter rows)
#   matrix rows M: grep -cE '^\| *(System|User) assigned *\|' F
#            (ja-JP: '^\| *(システム|ユーザー)割り当て済み *\|')
#   cloud rows C:  grep -cE '^\| *Azure (Global|Government|Germany|China 21Vianet) *\|' F
#   records = 4*M + 2*C (+ flat tables: data rows × value columns)
#   statuses: the matrix cells (awk -F'|' fields 3..6 of the matrix rows) and the cloud
#   tables' Status cells (field 4), each sorted by hand-written rules:
#     ![Available][check|Check], Available, "Available in …", [Available in …](…) → available
#     Preview → preview; "not available" in any case → not_available; a <br> → mixed
#     | sed -E 's/^ +//; s/ +$//' | awk '…' | sort | uniq -c
#   Flat tables: grep -c '^|' F minus the header and delimiter lines of each table.
EXPECTED: dict[str, tuple[int, int, dict[str, int]]] = {
    # M=18 (9 tables), C=0; the Service table: 7 rows × 6 value columns = 42.
    # Its Status column (awk field 7): Available ×2, Preview ×3, empty ×2 (the Data Lake
    # and SQL rows have 3 cells) → unknown ×2.
    # Matrix cells: 17 available, 18 preview, 35 not available, 2 <br> (Container Instances).
    PREDECESSOR: (
        10,
        4 * 18 + 42,
        {"available": 19, "preview": 21, "not_available": 35, "mixed": 2, "unknown": 2},
    ),
    # M=20, C=32: 35 available, 24 preview, 51 not available, 2 mixed.
    V2019: (18, 4 * 20 + 2 * 32, {"available": 35, "preview": 24, "not_available": 51, "mixed": 2}),
    # M=68, C=36: 124 available, 20 preview, 162 not available, 2 mixed.
    V2021_01: (
        43,
        4 * 68 + 2 * 36,
        {"available": 124, "preview": 20, "not_available": 162, "mixed": 2},
    ),
    # M=74, C=40: 146 available, 28 preview, 160 not available, 2 mixed.
    V2021_11: (
        47,
        4 * 74 + 2 * 40,
        {"available": 146, "preview": 28, "not_available": 160, "mixed": 2},
    ),
    # M=66, C=36: every status cell is Japanese (利用可能, プレビュー, 使用不可, 使用できません,
    # 利用不可, and the check image's alt 利用可能): 4*66 + 36 = 300 unknown.
    JA: (42, 4 * 66 + 2 * 36, {"unknown": 300}),
    # One Service Name | Documentation table: 49 '|' lines - 2 = 47 rows × 1 column.
    STATUS_2021: (1, 47, {}),
    # 57 - 2 = 55 rows.
    STATUS_2023: (1, 55, {}),
    # 219 '|' lines - 4 = 64 services + 151 resource types (grep -c '^| Microsoft\.'), each
    # resource type one record per identity type. Its identity cells (awk -F'|' '/^\|
    # Microsoft\./{print $4}' F | sort | uniq -c): both types ×100, System-assigned ×36,
    # User-assigned ×14, empty ×1 → available 200 + 36 + 14, not available 36 + 14, and the
    # empty cell unknown for both types.
    STATUS_2025: (2, 64 + 2 * 151, {"available": 250, "not_available": 50, "unknown": 2}),
}


def _doc(name: str) -> Document:
    path = corpus_file(name)
    if not path.is_file():
        pytest.fail(f"corpus file {path} is missing from the repository")
    return parse(path.read_bytes(), "markdown")


def _records(doc: Document, **match: str) -> list[Record]:
    return [r for r in doc.records if all(getattr(r, k) == v for k, v in match.items())]


def test_the_corpus_is_the_one_these_tests_were_written_for() -> None:
    found = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.glob("*/*.md"))
    assert found == sorted(CORPUS_FILES)


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_counts_counted_by_hand(name: str) -> None:
    tables, records, statuses = EXPECTED[name]
    doc = _doc(name)
    assert doc.tables == tables
    assert len(doc.records) == records
    assert doc.status_counts() == statuses


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_matches_the_reviewed_golden_file(name: str) -> None:
    golden = json.loads(golden_path(name).read_text(encoding="utf-8"))
    assert document_to_json(_doc(name)) == golden


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_key_is_unique_and_every_page_dated(name: str) -> None:
    doc = _doc(name)
    keys = Counter(r.key for r in doc.records)
    assert [k for k, n in keys.items() if n > 1] == []
    assert doc.title
    assert doc.ms_date is not None and name.split("/")[-1].replace("ja-JP_", "")[:10] == (
        doc.ms_date
    )


def test_front_matter_dates_and_titles() -> None:
    doc = _doc(V2021_01)
    assert (doc.title, doc.ms_date) == (
        "Azure Services that support managed identities - Azure AD",
        "2021-01-28",
    )
    assert _doc(JA).title == "マネージド ID をサポートする Azure サービス - Azure AD"


def test_japanese_status_words_are_unknown_not_guessed() -> None:
    doc = _doc(JA)
    status_cells = [r for r in doc.records if r.status is not None]
    assert len(status_cells) == 300
    assert {r.status for r in status_cells} == {"unknown"}
    # ![利用可能][check] ×88 in the matrices and ×28 in the Status columns, and the plain
    # word twice (Import/Export): alt text is read, then not understood.
    assert Counter(r.raw for r in status_cells)["利用可能"] == 88 + 28 + 2
    # Row labels are not guessed either: kept in their normal form.
    assert {r.row_key for r in doc.records if r.column_key != "resource_id"} >= {
        "システム割り当て済み",
        "ユーザー割り当て済み",
    }


def test_linux_windows_cell_is_mixed_with_its_parts() -> None:
    cells = _records(_doc(V2019), entity="Azure Container Instances", column_key="global")
    assert [(r.row_key, r.raw, r.status, r.parts) for r in cells] == [
        (
            row,
            "Linux: Preview<br>Windows: Not available",
            "mixed",
            (("Linux", "preview"), ("Windows", "not_available")),
        )
        for row in ("system_assigned", "user_assigned")
    ]


def test_arc_enabled_servers_keeps_its_key_across_the_rename() -> None:
    before = _records(_doc(V2021_01), entity="Azure Arc enabled servers")
    after = _records(_doc(V2021_11), entity="Azure Arc-enabled servers")
    assert len(before) == len(after) == 8
    assert [r.key for r in before] == [r.key for r in after]


def test_check_images_resolve_with_either_capitalisation() -> None:
    # 2021-11-09 writes ![Available][Check] for Azure Automation; the definition is [check].
    automation = _records(_doc(V2021_11), entity="Azure Automation")
    assert [r.raw for r in automation if r.column_key in ("global", "usgov", "china")] == [
        "Available"
    ] * 6
    assert {r.status for r in automation if r.column_key != "germany"} == {"available"}


def test_ragged_rows_warn_and_keep_the_aligned_cells() -> None:
    doc = _doc(PREDECESSOR)
    vm = _records(doc, entity="Azure Virtual Machines", row_key="system_assigned")
    # "| System assigned | Available | Preview | Preview | Preview | Preview |": 5 values,
    # 4 clouds; the fifth is reported, not read.
    assert [(r.column_key, r.raw) for r in vm] == [
        ("global", "Available"),
        ("usgov", "Preview"),
        ("germany", "Preview"),
        ("china", "Preview"),
    ]
    assert doc.warnings[:2] == (
        "line 30: 6 cells, header has 5: extra cells ignored",
        "line 31: 6 cells, header has 5: extra cells ignored",
    )


def test_a_delimiter_row_of_another_width_does_not_lose_the_table() -> None:
    doc = _doc(PREDECESSOR)
    assert "line 151: delimiter row has 8 cells, header has 7: read as 7 columns" in doc.warnings
    arm = _records(doc, entity="Azure Resource Manager")
    assert [r.column for r in arm] == [
        "Azure Global Endpoint Resource ID",
        "Azure Government Resource ID",
        "Azure Germany Resource ID",
        "Azure China 21Vianet",
        "Status",
        "Assign access",
    ]
    assert arm[4].status == "available"
    assert (
        arm[5].raw == "Azure portal<br>PowerShell<br>Azure CLI<br>Azure Resource Manager template"
    )
    assert len(arm[5].links) == 4
    # "| Azure Data Lake | `https://datalake.azure.net/` | Available |": short row, read as
    # GFM reads it — the Status cell is empty, so unknown, and it is reported.
    lake = {r.column_key: r for r in _records(doc, entity="Azure Data Lake")}
    assert lake["status"].raw == "" and lake["status"].status == "unknown"
    assert "line 154: 3 cells, header has 7: missing cells read as empty" in doc.warnings


def test_cloud_tables_track_resource_ids_as_text() -> None:
    storage = _records(_doc(V2021_01), entity="Azure Storage blobs and queues", row_key="global")
    assert [(r.column_key, r.status) for r in storage] == [
        ("resource_id", None),
        ("status", "available"),
    ]
    assert storage[0].raw == (
        "https://storage.azure.com/<br>https://<account>.blob.core.windows.net"
        "<br>https://<account>.queue.core.windows.net"
    )
    # An empty Resource ID cell is still a record.
    lake = _records(_doc(V2019), entity="Azure Data Lake", row_key="usgov")
    assert [(r.raw, r.status) for r in lake] == [("", None), ("Not Available", "not_available")]


def test_flat_status_page_rows_and_links() -> None:
    doc = _doc(STATUS_2021)
    assert {r.section for r in doc.records} == {""}  # the table sits under the H1 only
    batch = _records(doc, entity="Azure Batch")
    assert len(batch) == 1
    # "[…](…)  </BR> […](…)": the closing-tag spelling still separates the two links.
    assert batch[0].raw == (
        "Configure customer-managed keys for your Azure Batch account with Azure Key Vault"
        " and Managed Identity<br>Configure managed identities in Batch pools"
    )
    # In normal form: resolved against the page's folder in azure-docs (published as /azure/).
    assert batch[0].links == (
        "/azure/batch/batch-customer-managed-key",
        "/azure/batch/managed-identity-pools",
    )
    assert (batch[0].row, batch[0].row_key, batch[0].column_key, batch[0].status) == (
        "",
        "",
        "documentation",
        None,
    )


def test_resource_type_table_names_entities_by_namespace_and_type() -> None:
    doc = _doc(STATUS_2025)
    section = "Resource providers and resource types supporting managed identities"
    sql = [r for r in _records(doc, section=section) if r.entity.startswith("Microsoft.Sql/")]
    # One status record per identity type, its raw text that type's part of the cell.
    assert [(r.entity, r.row_key, r.raw, r.status) for r in sql] == [
        ("Microsoft.Sql/managedInstances", "system_assigned", "System-assigned", "available"),
        ("Microsoft.Sql/managedInstances", "user_assigned", "User-assigned", "available"),
        ("Microsoft.Sql/servers", "system_assigned", "System-assigned", "available"),
        ("Microsoft.Sql/servers", "user_assigned", "User-assigned", "available"),
        ("Microsoft.Sql/servers/databases", "system_assigned", "", "not_available"),
        ("Microsoft.Sql/servers/databases", "user_assigned", "User-assigned", "available"),
        ("Microsoft.Sql/servers/jobAgents", "system_assigned", "", "not_available"),
        ("Microsoft.Sql/servers/jobAgents", "user_assigned", "User-assigned", "available"),
    ]
    assert {(r.row, r.column, r.column_key) for r in sql} == {
        ("System assigned", "Identity types(s)", "identity_types"),
        ("User assigned", "Identity types(s)", "identity_types"),
    }
    # "| Microsoft.CognitiveServices | accounts/encryptionScopes |  |": an empty cell says
    # nothing, so both types are unknown, and the parser says which row it was.
    empty = _records(doc, entity="Microsoft.CognitiveServices/accounts/encryptionScopes")
    assert [(r.row_key, r.raw, r.status) for r in empty] == [
        ("system_assigned", "", "unknown"),
        ("user_assigned", "", "unknown"),
    ]
    assert any(
        "'Microsoft.CognitiveServices/accounts/encryptionScopes' lists no identity types" in w
        for w in doc.warnings
    )
    assert len({r.entity for r in _records(doc, section=section)}) == 151
