"""diff() on small hand-built documents: every kind, severity, the order, and pairing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from watcher.domain.diff import apply, diff
from watcher.domain.document import Change, Document, Record, Status

S1 = "Services that support managed identities"
S2 = "Services that support Azure AD authentication"
FLAT = "Services supporting managed identities"
CLOUDS = ("Global", "Azure Government", "Azure Germany", "Azure China")
ROWS = ("System assigned", "User assigned")

_KEYS = {
    "System assigned": "system_assigned",
    "User assigned": "user_assigned",
    "Global": "global",
    "Azure Government": "usgov",
    "Azure Germany": "germany",
    "Azure China": "china",
    "Resource ID": "resource_id",
    "Status": "status",
}
_STATUS: dict[str, Status] = {
    "Available": "available",
    "Available in supported regions": "available",
    "Preview": "preview",
    "Not available": "not_available",
    "-": "unknown",
}
MIXED = "Linux: Preview<br>Windows: Not available"
_PARTS = {
    MIXED: (("Linux", "preview"), ("Windows", "not_available")),
    "Linux: Available<br>Windows: Not available": (
        ("Linux", "available"),
        ("Windows", "not_available"),
    ),
    "Linux: Not available<br>Windows: Preview": (
        ("Linux", "not_available"),
        ("Windows", "preview"),
    ),
    "Linux: Available<br>Windows: Preview": (("Linux", "available"), ("Windows", "preview")),
}


def key(text: str) -> str:
    return _KEYS.get(text) or "".join(ch for ch in text.casefold() if ch.isalnum())


def cell(
    section: str,
    entity: str,
    row: str,
    column: str,
    raw: str,
    *,
    status: bool = True,
    links: tuple[str, ...] = (),
) -> Record:
    """A status cell (its status read from the raw text) or, with status=False, a text cell."""
    state: Status | None = None
    if status:
        state = "mixed" if raw in _PARTS else _STATUS[raw]
    return Record(
        section, entity, row, column, raw, state,
        key(section), key(entity), key(row), key(column),
        _PARTS.get(raw, ()), links,
    )  # fmt: skip


def matrix(
    entity: str, cells: str | Sequence[str] = "Not available", section: str = S1
) -> list[Record]:
    """System/User assigned × 4 clouds; ``cells`` is one text for all or 8 texts, row by row."""
    texts = [cells] * 8 if isinstance(cells, str) else list(cells)
    return [
        cell(section, entity, row, cloud, texts[4 * i + j])
        for i, row in enumerate(ROWS)
        for j, cloud in enumerate(CLOUDS)
    ]


def cloud_table(entity: str, resource_ids: Sequence[str], statuses: Sequence[str]) -> list[Record]:
    """A Cloud / Resource ID / Status table under S2."""
    out = []
    for cloud, rid, status in zip(CLOUDS, resource_ids, statuses, strict=True):
        out.append(cell(S2, entity, cloud, "Resource ID", rid, status=False))
        out.append(cell(S2, entity, cloud, "Status", status))
    return out


def flat(entity: str, documentation: str, link: str = "", section: str = FLAT) -> list[Record]:
    links = (link,) if link else ()
    return [cell(section, entity, "", "Documentation", documentation, status=False, links=links)]


def doc(*groups: Iterable[Record]) -> Document:
    return Document(tuple(r for group in groups for r in group))


def edit(records: Iterable[Record], entity: str, row: str, column: str, raw: str) -> list[Record]:
    """The records with one status cell's text (and so its status) replaced."""
    out = []
    for r in records:
        if (r.entity, r.row, r.column) == (entity, row, column):
            r = cell(r.section, r.entity, row, column, raw, status=r.status is not None)
        out.append(r)
    return out


def summary(changes: Iterable[Change]) -> list[tuple[str, ...]]:
    return [(c.kind, c.severity, c.entity, c.row, c.column) for c in changes]


def replayed(old: Document, new: Document) -> None:
    got = {r.key: (r.raw, r.status) for r in apply(old, diff(old, new))}
    assert got == {r.key: (r.raw, r.status) for r in new.records}


BASE = doc(
    matrix("Azure Functions", ["Available"] * 4 + ["Preview", "Not available", "-", MIXED]),
    matrix("Azure Batch"),
    cloud_table("Azure Key Vault", ["https://vault.azure.net"] * 4, ["Available"] * 4),
)


# ---------------------------------------------------------------------------------------
# Cells


def test_a_document_has_no_changes_against_itself() -> None:
    assert diff(BASE, BASE) == []
    assert diff(Document(()), Document(())) == []


@pytest.mark.parametrize(
    ("old", "new", "severity"),
    [
        ("Not available", "Preview", "notice"),
        ("Preview", "Available", "notice"),
        ("Not available", "Available", "notice"),
        ("Available", "Preview", "warning"),
        ("Available", "Not available", "warning"),
        ("Preview", "Not available", "warning"),
        # unknown: nothing readable any more is a warning; readable again a notice
        ("Available", "-", "warning"),
        ("Not available", "-", "warning"),
        ("-", "Not available", "notice"),
        ("-", "Available", "notice"),
        # mixed: a part that lost ground is a regression, even if another part gained
        ("Not available", MIXED, "notice"),
        (MIXED, "Available", "notice"),
        ("Available", MIXED, "warning"),
        (MIXED, "Not available", "warning"),
        ("Preview", "Linux: Available<br>Windows: Not available", "warning"),
        (MIXED, "Linux: Available<br>Windows: Not available", "notice"),
        (MIXED, "Linux: Not available<br>Windows: Preview", "warning"),
        (MIXED, "Linux: Available<br>Windows: Preview", "notice"),
    ],
)
def test_status_changes_are_notices_up_and_warnings_down(old: str, new: str, severity: str) -> None:
    before = doc(matrix("Azure Functions", old))
    after = doc(edit(before.records, "Azure Functions", "User assigned", "Azure Government", new))
    (change,) = diff(before, after)
    assert change.kind == "status_changed"
    assert change.severity == severity
    assert (change.row, change.column) == ("user_assigned", "usgov")
    assert (change.row_label, change.column_label) == ("User assigned", "Azure Government")
    assert (change.old_raw, change.new_raw) == (old, new)
    assert (change.old_status, change.new_status) == (
        before.records[5].status,
        after.records[5].status,
    )
    assert (change.section, change.entity, change.section_key, change.entity_key) == (
        S1,
        "Azure Functions",
        key(S1),
        "azurefunctions",
    )


def test_a_new_wording_of_the_same_status_is_a_value_change() -> None:
    before = doc(matrix("Azure Functions", "Available"))
    after = doc(
        edit(
            before.records,
            "Azure Functions",
            "System assigned",
            "Global",
            "Available in supported regions",
        )
    )
    assert summary(diff(before, after)) == [
        ("value_changed", "info", "Azure Functions", "system_assigned", "global")
    ]


def test_a_changed_resource_id_is_a_value_change() -> None:
    before = doc(
        cloud_table(
            "Azure Event Hubs", ["https://eventhubs.azure.net", "", "", ""], ["Available"] * 4
        )
    )
    after = doc(
        cloud_table("Azure Event Hubs", ["https://eventhubs.azure.net"] * 4, ["Available"] * 4)
    )
    changes = diff(before, after)
    assert summary(changes) == [
        ("value_changed", "info", "Azure Event Hubs", cloud, "resource_id")
        for cloud in ("usgov", "germany", "china")
    ]
    assert [(c.old_raw, c.new_raw, c.old_status, c.new_status) for c in changes] == [
        ("", "https://eventhubs.azure.net", None, None)
    ] * 3


def test_the_same_link_under_re_rendered_text_is_no_change() -> None:
    # Links reach the diff in normal form (watcher.parse.links); the text's separators and
    # spacing are rendering.
    before = doc(flat("Azure Batch", "Keys<br>Managed identities in Batch pools", "/azure/b/p"))
    after = doc(flat("Azure Batch", "Keys  Managed identities in batch pools", "/azure/b/p"))
    assert diff(before, after) == []


def test_a_link_to_another_article_is_a_link_change() -> None:
    before = doc(flat("Azure Batch", "Managed identities in Batch pools", "/azure/batch/pools"))
    after = doc(flat("Azure Batch", "Managed identities in Batch pools", "/azure/develop/multi"))
    [change] = diff(before, after)
    assert (change.kind, change.severity, change.entity, change.column) == (
        "link_changed",
        "info",
        "Azure Batch",
        "documentation",
    )
    assert (change.old_links, change.new_links) == (
        ("/azure/batch/pools",),
        ("/azure/develop/multi",),
    )
    assert apply(before, [change]) == list(after.records)


def test_a_retitled_link_to_the_same_article_is_a_value_change() -> None:
    before = doc(flat("Azure Batch", "Batch pools", "/azure/batch/pools"))
    after = doc(flat("Azure Batch", "Managed identities in Batch pools", "/azure/batch/pools"))
    [change] = diff(before, after)
    assert (change.kind, change.old_links, change.new_links) == ("value_changed", (), ())


# ---------------------------------------------------------------------------------------
# Entities


def test_an_added_and_a_removed_entity_are_one_change_each() -> None:
    after = doc(matrix("Azure Functions", "Available"), matrix("Azure Maps", "Preview"))
    before = doc(matrix("Azure Functions", "Available"), matrix("Azure Batch"))
    changes = diff(before, after)
    # A removed thing stands right after its predecessor on the old page (Functions), so
    # before what was added there.
    assert summary(changes) == [
        ("entity_removed", "warning", "Azure Batch", "", ""),
        ("entity_added", "notice", "Azure Maps", "", ""),
    ]
    assert [len(c.cells) for c in changes] == [8, 8]
    assert {r.raw for r in changes[1].cells} == {"Preview"}


def test_a_new_spelling_of_the_same_name_is_a_rename() -> None:
    before = doc(matrix("Azure Arc enabled servers", "Not available"))
    after = doc(
        edit(
            matrix("Azure Arc-enabled servers"),
            "Azure Arc-enabled servers",
            "System assigned",
            "Global",
            "Available",
        )
    )
    changes = diff(before, after)
    assert summary(changes) == [
        ("entity_renamed", "info", "Azure Arc-enabled servers", "", ""),
        ("status_changed", "notice", "Azure Arc-enabled servers", "system_assigned", "global"),
    ]
    assert changes[0].old_entity == "Azure Arc enabled servers"
    assert changes[0].old_section is None
    assert changes[1].old_entity is None  # cell changes are reported against the new name
    replayed(before, after)


def test_a_removed_and_an_added_entity_with_the_same_records_are_a_rename() -> None:
    hosts = ("windows.net", "usgovcloudapi.net", "cloudapi.de", "chinacloudapi.cn")
    old_ids = [f"https://storage.azure.com/<br>https://<account>.blob.core.{h}" for h in hosts]
    new_ids = [
        f"{rid}<br>https://<account>.table.core.{h}" for rid, h in zip(old_ids, hosts, strict=True)
    ]
    before = doc(
        cloud_table("Azure Storage blobs and queues", old_ids, ["Available"] * 4),
        cloud_table("Azure Key Vault", ["https://vault.azure.net"] * 4, ["Available"] * 4),
    )
    after = doc(
        cloud_table("Azure Storage blobs, queues, and tables", new_ids, ["Available"] * 4),
        cloud_table("Azure Key Vault", ["https://vault.azure.net"] * 4, ["Available"] * 4),
        cloud_table("Azure Cosmos DB", ["https://cosmos.azure.com"] * 4, ["Available"] * 4),
    )
    changes = diff(before, after)
    assert summary(changes) == [
        ("entity_renamed", "info", "Azure Storage blobs, queues, and tables", "", ""),
        *[
            ("value_changed", "info", "Azure Storage blobs, queues, and tables", c, "resource_id")
            for c in ("global", "usgov", "germany", "china")
        ],
        ("entity_added", "notice", "Azure Cosmos DB", "", ""),
    ]
    assert changes[0].old_entity == "Azure Storage blobs and queues"
    assert (changes[0].old_entity_key, changes[0].entity_key) == (
        "azurestorageblobsandqueues",
        "azurestorageblobsqueuesandtables",
    )
    replayed(before, after)


def test_a_flat_row_whose_documentation_reads_alike_is_a_rename() -> None:
    before = doc(
        flat(
            "Azure Cognitive Services",
            "Configure customer-managed keys with Azure Key Vault for Cognitive Services",
        ),
        flat(
            "Azure Spring Cloud",
            "How to enable managed identity for Azure Spring Cloud",
            "/azure/spring-apps/how-to-enable",
        ),
    )
    after = doc(
        flat(
            "Azure AI services",
            "Configure customer-managed keys with Azure Key Vault for Azure AI services",
        ),
        flat("Azure Container Apps", "Managed identities in Azure Container Apps"),
        # Reworded, but the same page behind the link.
        flat(
            "Azure Spring Apps",
            "Enable a managed identity for an app in Spring Apps",
            "/azure/spring-apps/how-to-enable",
        ),
    )
    assert [(c.kind, c.entity, c.old_entity) for c in diff(before, after)] == [
        ("entity_renamed", "Azure AI services", "Azure Cognitive Services"),
        ("value_changed", "Azure AI services", None),
        ("entity_added", "Azure Container Apps", None),
        ("entity_renamed", "Azure Spring Apps", "Azure Spring Cloud"),
        ("value_changed", "Azure Spring Apps", None),
    ]


def test_the_same_link_target_pairs_a_reworded_flat_row() -> None:
    before = doc(
        flat(
            "Azure Spring Cloud",
            "How to enable it for Azure Spring Cloud",
            "/azure/spring/enable",
        )
    )
    after = doc(flat("Azure Spring Apps", "Turn on the feature", "/azure/spring/enable"))
    assert [(c.kind, c.old_entity) for c in diff(before, after)] == [
        ("entity_renamed", "Azure Spring Cloud"),
        ("value_changed", None),
    ]


def test_unrelated_services_sharing_not_available_everywhere_are_not_paired() -> None:
    before = doc(matrix("Azure Functions", "Available"), matrix("Azure Firewall Policy"))
    after = doc(matrix("Azure Functions", "Available"), matrix("Contoso Widgets"))
    assert summary(diff(before, after)) == [
        ("entity_removed", "warning", "Azure Firewall Policy", "", ""),
        ("entity_added", "notice", "Contoso Widgets", "", ""),
    ]


def test_unrelated_flat_rows_are_not_paired() -> None:
    before = doc(flat("Azure Media services", "Managed identities in Azure Media Services"))
    after = doc(flat("Azure Web PubSub Service", "Managed identities for Azure Web PubSub Service"))
    assert [c.kind for c in diff(before, after)] == ["entity_removed", "entity_added"]


def test_texts_many_rows_share_do_not_pair_unrelated_rows() -> None:
    def types(name: str, text: str = "System-assigned<br>User-assigned") -> list[Record]:
        return [cell("Resource types", name, "", "Identity types", text, status=False)]

    common = [types(f"Microsoft.Web/{t}") for t in ("sites", "slots", "staticSites")]
    before = doc(*common, types("Microsoft.Foo/bars"))
    after = doc(*common, types("Microsoft.Quantum/workspaces"))
    assert [c.kind for c in diff(before, after)] == ["entity_removed", "entity_added"]


def test_an_ambiguous_rename_is_not_guessed() -> None:
    """Two removed services match the added one equally well: no pairing."""
    before = doc(matrix("Azure Spring Cloud", "Preview"), matrix("Azure Spring Build", "Preview"))
    after = doc(matrix("Azure Spring Apps", "Preview"))
    assert [c.kind for c in diff(before, after)] == [
        "entity_removed",
        "entity_removed",
        "entity_added",
    ]
    # One that matches better (a name closer to it) is no longer a tie.
    before = doc(
        matrix("Azure Spring Cloud", "Preview"), matrix("Azure Spring Cloud Build", "Preview")
    )
    assert [(c.kind, c.entity, c.old_entity) for c in diff(before, after)] == [
        ("entity_renamed", "Azure Spring Apps", "Azure Spring Cloud"),
        ("entity_removed", "Azure Spring Cloud Build", None),
    ]


def test_a_name_in_common_and_the_same_statuses_pair_a_matrix_rename() -> None:
    before = doc(matrix("Azure Spring Cloud", ["Available"] + ["Not available"] * 7))
    after = doc(matrix("Azure Spring Apps", ["Available"] + ["Not available"] * 7))
    assert [(c.kind, c.old_entity) for c in diff(before, after)] == [
        ("entity_renamed", "Azure Spring Cloud")
    ]


def test_a_moved_entity_is_reported_once_where_it_went_with_its_cell_changes() -> None:
    before = doc(
        matrix("Azure Functions", "Available"),
        matrix("Azure Communication Services"),
        cloud_table("Azure Key Vault", ["https://vault.azure.net"] * 4, ["Available"] * 4),
    )
    moved = edit(
        matrix("Azure Communication Services", section=S2),
        "Azure Communication Services",
        "User assigned",
        "Global",
        "Available",
    )
    after = doc(
        matrix("Azure Functions", "Available"),
        cloud_table("Azure Key Vault", ["https://vault.azure.net"] * 4, ["Available"] * 4),
        moved,
    )
    changes = diff(before, after)
    assert summary(changes) == [
        ("entity_moved", "info", "Azure Communication Services", "", ""),
        ("status_changed", "notice", "Azure Communication Services", "user_assigned", "global"),
    ]
    assert (changes[0].section, changes[0].old_section, changes[0].old_entity) == (S2, S1, None)
    assert changes[1].section == S2
    replayed(before, after)


# ---------------------------------------------------------------------------------------
# Attributes and sections


def _without(
    records: Iterable[Record], *, row: str = "", column: str = "", entity: str = ""
) -> list[Record]:
    return [
        r
        for r in records
        if not (
            (not row or r.row == row)
            and (not column or r.column == column)
            and (not entity or r.entity == entity)
        )
    ]


def test_a_column_gone_from_the_whole_section_is_one_change() -> None:
    after = doc(_without(BASE.records, column="Azure Germany"))
    changes = diff(BASE, after)
    # The Key Vault table under S2 has Germany as a row, not a column: untouched.
    assert summary(changes) == [("attribute_removed", "notice", "", "", "germany")]
    assert (changes[0].section, changes[0].column_label) == (S1, "Azure Germany")
    assert len(changes[0].cells) == 4  # 2 entities × 2 rows
    replayed(BASE, after)
    # ... and coming back is one attribute_added.
    assert summary(diff(after, BASE)) == [("attribute_added", "notice", "", "", "germany")]


def test_a_column_gone_from_one_entity_only_is_that_entitys_change() -> None:
    after = doc(_without(BASE.records, column="Azure Germany", entity="Azure Batch"))
    changes = diff(BASE, after)
    assert summary(changes) == [("attribute_removed", "notice", "Azure Batch", "", "germany")]
    assert changes[0].entity_key == "azurebatch"


def test_a_column_only_one_entity_had_is_that_entitys_change_when_it_goes() -> None:
    before = doc(_without(BASE.records, column="Azure Germany", entity="Azure Batch"))
    after = doc(_without(BASE.records, column="Azure Germany"))
    assert summary(diff(before, after)) == [
        ("attribute_removed", "notice", "Azure Functions", "", "germany")
    ]


def test_a_row_gone_from_one_entity_and_a_row_added_to_all() -> None:
    after = doc(_without(BASE.records, row="User assigned", entity="Azure Functions"))
    assert summary(diff(BASE, after)) == [
        ("attribute_removed", "notice", "Azure Functions", "user_assigned", "")
    ]
    before = doc(_without(BASE.records, row="User assigned"))
    changes = diff(before, BASE)
    assert summary(changes) == [("attribute_added", "notice", "", "user_assigned", "")]
    assert changes[0].row_label == "User assigned"


def test_a_single_missing_cell_says_what_it_held() -> None:
    after = doc(
        r
        for r in BASE.records
        if (r.entity, r.row, r.column) != ("Azure Functions", "User assigned", "Azure Government")
    )
    (change,) = diff(BASE, after)
    assert (change.kind, change.row, change.column) == (
        "attribute_removed",
        "user_assigned",
        "usgov",
    )
    assert (change.old_raw, change.old_status, change.new_raw) == (
        "Not available",
        "not_available",
        None,
    )


def test_an_added_and_a_removed_section_are_one_change_each() -> None:
    rp = "Resource providers"
    extra = [
        cell(rp, f"Microsoft.Web/{t}", "", "Identity types", "System-assigned", status=False)
        for t in ("sites", "slots")
    ]
    after = doc(matrix("Azure Functions", "Available"), extra)
    before = doc(matrix("Azure Functions", "Available"), matrix("Azure Batch", section=S2))
    changes = diff(before, after)
    assert [(c.kind, c.section, c.entity, len(c.cells)) for c in changes] == [
        ("section_removed", S2, "", 8),
        ("section_added", rp, "", 2),
    ]
    replayed(before, after)


def test_a_new_heading_over_the_same_entities_is_one_change() -> None:
    rows = [flat(f"Service {n}", f"Documentation of {n}", section="") for n in "ABCD"]
    before = doc(*rows)
    after = doc(
        *(flat(r[0].entity, r[0].raw, section=FLAT) for r in rows[1:]),
        flat("Service E", "Docs of E", section=FLAT),
    )
    changes = diff(before, after)
    assert [(c.kind, c.section, c.entity, c.old_section) for c in changes] == [
        ("entity_moved", FLAT, "", ""),
        ("entity_removed", "", "Service A", None),
        ("entity_added", FLAT, "Service E", None),
    ]
    assert (changes[0].section_key, changes[0].old_section_key, changes[0].old_entity_key) == (
        key(FLAT),
        "",
        None,
    )
    replayed(before, after)


# ---------------------------------------------------------------------------------------
# Order, replay, robustness, speed


def test_changes_follow_the_new_page_with_removed_things_after_their_predecessor() -> None:
    before = doc(
        matrix("A"), matrix("B"), matrix("C"), matrix("D"),
        cloud_table("Key Vault", ["x"] * 4, ["Available"] * 4),
    )  # fmt: skip
    after = doc(
        cloud_table("Key Vault", ["y"] * 4, ["Available"] * 4),
        edit(matrix("D"), "D", "User assigned", "Azure China", "Preview"),
        matrix("New"),
        edit(
            edit(matrix("A"), "A", "User assigned", "Global", "Preview"),
            "A",
            "System assigned",
            "Azure China",
            "Preview",
        ),
    )
    # Sections: S2 first now, then S1. Entities of S1: D, New, A, with B and C (gone)
    # where they stood: after A, their predecessor on the old page.
    assert [(c.kind, c.entity, c.row, c.column) for c in diff(before, after)] == [
        *[
            ("value_changed", "Key Vault", cloud, "resource_id")
            for cloud in ("global", "usgov", "germany", "china")
        ],
        ("status_changed", "D", "user_assigned", "china"),
        ("entity_added", "New", "", ""),
        ("status_changed", "A", "system_assigned", "china"),
        ("status_changed", "A", "user_assigned", "global"),
        ("entity_removed", "B", "", ""),
        ("entity_removed", "C", "", ""),
    ]


def test_apply_takes_records_too_and_replays_every_kind() -> None:
    after = doc(
        _without(
            edit(BASE.records, "Azure Functions", "System assigned", "Global", "Preview"),
            column="Azure Germany",
        ),
        matrix("Azure Maps", "Preview"),
        flat("Microsoft.Web/sites", "System-assigned", section="Resource providers"),
    )
    changes = diff(BASE, after)
    assert {c.kind for c in changes} == {
        "status_changed",
        "attribute_removed",
        "entity_added",
        "section_added",
    }
    got = apply(BASE.records, changes)
    assert {r.key: (r.raw, r.status) for r in got} == {
        r.key: (r.raw, r.status) for r in after.records
    }
    assert set(got) == set(after.records)  # whole records, display texts and links included


def test_a_key_seen_twice_keeps_its_first_record() -> None:
    twice = doc(matrix("Azure Functions", "Available"), matrix("Azure Functions", "Preview"))
    assert diff(twice, doc(matrix("Azure Functions", "Available"))) == []
