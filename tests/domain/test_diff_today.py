"""Today's page (managed-identities-status.md), typed: identity types per resource type,
documentation targets, renames through a reshaped table, and re-renderings that say nothing.

Every case starts from a real version in the repository and changes it the way the page or
a renderer of it really does.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from tests.cliutil import run_json
from tests.conftest import CORPUS
from tests.parse.chrome import published_html
from watcher.audit.changes import describe_change
from watcher.config import RouteConfig
from watcher.delivery.render import ChangeSet, render_changes
from watcher.domain.describe import describe
from watcher.domain.diff import diff
from watcher.domain.document import Change
from watcher.domain.routes import wants
from watcher.parse import parse

PAGE_2021 = CORPUS / "status-page" / "2021-12-08__MicrosoftDocs__00605c9.md"
PAGE_2023 = CORPUS / "status-page" / "2023-05-25__MicrosoftDocs__6f6728e.md"
PAGE_2025 = CORPUS / "status-page" / "2025-05-09__MicrosoftDocs-entra-docs__41d266e.md"
TYPES = "Resource providers and resource types supporting managed identities"
DEFAULT_ROUTE = RouteConfig(name="platform", channel="stdout")


def text_2025() -> str:
    return PAGE_2025.read_text(encoding="utf-8")


def edited(old: str, new: str, text: str | None = None) -> bytes:
    """The 2025 page with one row edited by hand."""
    text = text_2025() if text is None else text
    assert text.count(old) == 1, old
    return text.replace(old, new).encode()


def changes_to(body: bytes, base: bytes | None = None) -> list[Change]:
    return diff(parse(base or PAGE_2025.read_bytes(), "markdown"), parse(body, "markdown"))


def facts(changes: list[Change]) -> list[tuple[object, ...]]:
    return [(c.kind, c.severity, c.entity, c.row, c.old_status, c.new_status) for c in changes]


def sent(changes: list[Change]) -> list[Change]:
    return [c for c in changes if wants(DEFAULT_ROUTE, "azure-mi", c)]


# ---------------------------------------------------------------------------------------
# Capability changes


def test_losing_an_identity_type_is_a_regression_a_default_route_sends() -> None:
    body = edited(
        "| Microsoft.Web | sites | System-assigned<br/>User-assigned |",
        "| Microsoft.Web | sites | System-assigned |",
    )
    changes = changes_to(body)
    assert facts(changes) == [
        (
            "status_changed",
            "warning",
            "Microsoft.Web/sites",
            "user_assigned",
            "available",
            "not_available",
        )
    ]
    [change] = changes
    assert (change.column, change.old_raw, change.new_raw) == (
        "identity_types",
        "User-assigned",
        "",
    )
    assert describe(change).text == "User assigned: Available → Not available"
    row = {
        "kind": change.kind,
        "row_label": change.row_label,
        "column": change.column,
        "column_label": change.column_label,
        "old_status": change.old_status,
        "new_status": change.new_status,
        "old_raw": change.old_raw,
        "new_raw": change.new_raw,
    }
    assert describe_change(row) == "User assigned: Available → Not available"
    assert sent(changes) == changes


def test_gaining_an_identity_type_is_a_promotion() -> None:
    body = edited(
        "| Microsoft.Sql | servers/databases | User-assigned |",
        "| Microsoft.Sql | servers/databases | System-assigned<br/>User-assigned |",
    )
    changes = changes_to(body)
    assert facts(changes) == [
        (
            "status_changed",
            "notice",
            "Microsoft.Sql/servers/databases",
            "system_assigned",
            "not_available",
            "available",
        )
    ]
    assert describe(changes[0]).mark == "promotion"
    assert sent(changes) == changes


def test_a_type_in_preview_and_then_generally_available() -> None:
    preview = edited(
        "| Microsoft.Sql | servers/databases | User-assigned |",
        "| Microsoft.Sql | servers/databases | System-assigned (preview)<br/>User-assigned |",
    )
    assert facts(changes_to(preview)) == [
        (
            "status_changed",
            "notice",
            "Microsoft.Sql/servers/databases",
            "system_assigned",
            "not_available",
            "preview",
        )
    ]
    ga = edited(
        "| Microsoft.Sql | servers/databases | User-assigned |",
        "| Microsoft.Sql | servers/databases | System-assigned<br/>User-assigned |",
    )
    assert [c.new_status for c in changes_to(ga, base=preview)] == ["available"]


def test_filling_the_empty_cell_makes_both_types_readable() -> None:
    body = edited(
        "| Microsoft.CognitiveServices | accounts/encryptionScopes |  |",
        "| Microsoft.CognitiveServices | accounts/encryptionScopes | User-assigned |",
    )
    entity = "Microsoft.CognitiveServices/accounts/encryptionScopes"
    assert facts(changes_to(body)) == [
        ("status_changed", "notice", entity, "system_assigned", "unknown", "not_available"),
        ("status_changed", "notice", entity, "user_assigned", "unknown", "available"),
    ]


def test_a_resource_type_removed_or_added_names_its_identity_types() -> None:
    row = "| Microsoft.Web | sites | System-assigned<br/>User-assigned |\n"
    text = text_2025()
    without = edited(row, "")
    removed = changes_to(without)
    assert facts(removed) == [
        ("entity_removed", "warning", "Microsoft.Web/sites", "", None, None),
    ]
    assert [(r.row_key, r.status) for r in removed[0].cells] == [
        ("system_assigned", "available"),
        ("user_assigned", "available"),
    ]
    line = describe(removed[0])
    assert [(d.row, [(c.value, c.status) for c in d.cells]) for d in line.details] == [
        ("System assigned", [("Available", "available")]),
        ("User assigned", [("Available", "available")]),
    ]
    added = changes_to(text.encode(), base=without)
    assert facts(added) == [("entity_added", "notice", "Microsoft.Web/sites", "", None, None)]
    assert sent(removed) == removed and sent(added) == added


# ---------------------------------------------------------------------------------------
# Documentation targets


def test_the_real_retargets_between_2023_and_2025_are_link_changes() -> None:
    changes = changes_to(PAGE_2025.read_bytes(), base=PAGE_2023.read_bytes())
    links = [(c.entity, c.old_links, c.new_links) for c in changes if c.kind == "link_changed"]
    assert links == [
        (
            "Azure Machine Learning Services",
            ("/azure/machine-learning/how-to-use-managed-identities",),
            ("/azure/machine-learning/how-to-identity-based-service-authentication",),
        ),
        (
            "Microsoft Purview",
            ("/azure/purview/manage-credentials",),
            ("/purview/manage-credentials",),
        ),
        (
            "Azure Synapse",
            ("/azure/synapse-analytics/security/synapse-workspace-managed-identity",),
            ("/azure/data-factory/data-factory-service-identity",),
        ),
    ]
    # 2023's relative links (../../x.md in azure-docs) and 2025's absolute ones (/azure/x in
    # entra-docs) are the same targets: every other row's link is no change.
    assert all(c.severity == "info" for c in changes if c.kind == "link_changed")
    # A default route does not send them; a route can opt in.
    assert not any(c.kind == "link_changed" for c in sent(changes))
    opted = RouteConfig(name="docs", channel="stdout", kinds=("link_changed",), min_severity="info")
    assert len([c for c in changes if wants(opted, "azure-mi", c)]) == 3


def test_a_retarget_to_an_unrelated_article_is_reported_and_its_repair_too() -> None:
    good = (
        "(/azure/virtual-machines/windows/security-policy#managed-identities-for-azure-resources)"
    )
    text = text_2025()
    # In 2023 rows were pointed at an unrelated article of the identity docs.
    wrong = "(../develop/configure-app-multi-instancing.md)"
    broken = edited(good, wrong)
    [change] = changes_to(broken)
    assert (change.kind, change.entity, change.old_links, change.new_links) == (
        "link_changed",
        "Azure Virtual Machines",
        ("/azure/virtual-machines/windows/security-policy",),
        ("/entra/identity/develop/configure-app-multi-instancing",),
    )
    [repair] = changes_to(text.encode(), base=broken)
    assert repair.new_links == ("/azure/virtual-machines/windows/security-policy",)


# ---------------------------------------------------------------------------------------
# Renames through a reshaped table


def earlier_shape() -> bytes:
    """The December 2021 page as it stood before that version: a namespace column, and
    the three services under their old names."""
    text = PAGE_2021.read_text(encoding="utf-8")
    lines = []
    for line in text.split("\n"):
        cells = line.split("|")
        if line.startswith("|"):
            if "Service Name" in cells[1]:
                extra = " Namespace "
            elif set(cells[1].strip()) <= {"-", ":"}:
                extra = " --- "
            else:
                extra = f" Microsoft.{cells[1].split()[-1]} "
            line = "|".join([cells[0], cells[1], extra, *cells[2:]])
        lines.append(line)
    text = "\n".join(lines)
    for new, old in (
        ("| Azure Virtual Machines ", "| Virtual Machines "),
        ("| Azure Virtual Machine Scale Sets ", "| Virtual Machine Scale Sets "),
        ("| Azure Logic Apps ", "| Azure Logic App "),
    ):
        assert text.count(new) == 1, new
        text = text.replace(new, old)
    return text.encode()


def test_renames_in_the_version_that_dropped_a_column_are_renames() -> None:
    before = parse(earlier_shape(), "markdown")
    assert "namespace" in {r.column_key for r in before.records}
    changes = diff(before, parse(PAGE_2021.read_bytes(), "markdown"))
    assert sorted((c.kind, c.entity, c.old_entity or "", c.column) for c in changes) == [
        ("attribute_removed", "", "", "namespace"),
        ("entity_renamed", "Azure Logic Apps", "Azure Logic App", ""),
        ("entity_renamed", "Azure Virtual Machine Scale Sets", "Virtual Machine Scale Sets", ""),
        ("entity_renamed", "Azure Virtual Machines", "Virtual Machines", ""),
    ]
    # A default route hears of the column going, once; the renames are kept in the log.
    assert [(c.kind, c.column) for c in sent(changes)] == [("attribute_removed", "namespace")]


# ---------------------------------------------------------------------------------------
# Re-renderings


def rerendered_2025() -> str:
    """The 2025 page as the published site and third-party copies render it: every <br/>
    lost, links absolute under /en-us/ on the site's host, CRLF line ends."""
    text = text_2025().replace("<br/>", "")
    text = re.sub(r"\]\(/", "](https://learn.microsoft.com/en-us/", text)
    text = re.sub(
        r"\]\((?!https?:)([^)]+?)\.md\)",
        r"](/en-us/entra/identity/managed-identities-azure-resources/\1)",
        text,
    )
    return text.replace("\n", "\r\n")


def test_a_re_rendering_of_the_real_page_is_no_change() -> None:
    text = rerendered_2025()
    assert "System-assignedUser-assigned" in text and "/en-us/" in text and "\r\n" in text
    assert diff(parse(PAGE_2025.read_bytes(), "markdown"), parse(text.encode(), "markdown")) == []


def test_the_published_html_of_a_re_rendering_is_no_change() -> None:
    page = published_html(rerendered_2025().replace("\r\n", "\n").encode())
    assert diff(parse(PAGE_2025.read_bytes(), "markdown"), parse(page, "html")) == []


@pytest.mark.parametrize(
    "cell",
    [
        "System-assigned</BR>User-assigned",
        "System-assigned, User-assigned",
        "System-assigned<br>User-assigned",
    ],
)
def test_every_separator_reads_the_same(cell: str) -> None:
    body = edited(
        "| Microsoft.Web | sites | System-assigned<br/>User-assigned |",
        f"| Microsoft.Web | sites | {cell} |",
    )
    assert changes_to(body) == []


# ---------------------------------------------------------------------------------------
# A new section of 151 resource types


def test_the_new_resource_type_table_is_one_summarized_line() -> None:
    changes = changes_to(PAGE_2025.read_bytes(), base=PAGE_2023.read_bytes())
    [section] = [c for c in changes if c.kind == "section_added"]
    assert section.section == TYPES and len({r.entity for r in section.cells}) == 151
    cs = ChangeSet(
        source="azure-mi",
        route="platform",
        to_snapshot=2,
        taken_at=datetime(2025, 5, 9, tzinfo=UTC),
        changes=tuple(sent(changes)),
        from_snapshot=1,
    )
    message = render_changes(cs, "key")
    summary = (
        "section added: 151 resource types (System assigned 136, User assigned 114, 1 unreadable)"
    )
    slack = json.dumps(message.slack)
    # Chat gets the counts, in one message; the email lists every resource type.
    assert len(message.slack) == 1 and summary in slack
    assert "Microsoft.Web/sites" not in slack
    assert summary in message.text and summary in message.html
    assert "      • Microsoft.Web/sites: System assigned, User assigned" in message.text
    assert "      • Microsoft.Batch/batchAccounts/pools: User assigned" in message.text
    assert (
        "      • Microsoft.CognitiveServices/accounts/encryptionScopes: "
        "no identity types given (an empty cell)"
    ) in message.text
    assert message.html.count("<li>") == 151


def test_parse_diagnostics_counts_the_typed_records_and_names_the_empty_cell() -> None:
    rows = run_json("parse", str(PAGE_2025), "--diagnostics")
    counts = {(r["kind"], r["value"]): r["count"] for r in rows}
    assert counts[("summary", "records")] == 64 + 2 * 151
    assert {k[1]: v for k, v in counts.items() if k[0] == "status"} == {
        "available": 250,
        "not_available": 50,
        "unknown": 2,
        "(text, no status)": 64,
    }
    assert counts[("unknown", "")] == 2
    assert [r["value"] for r in rows if r["kind"] == "warning"] == [
        "table 2 under 'Resource providers and resource types supporting managed identities': "
        "'Microsoft.CognitiveServices/accounts/encryptionScopes' lists no identity types: its "
        "identity types read as unknown"
    ]


def test_a_removed_resource_type_table_is_summarized_likewise() -> None:
    changes = changes_to(PAGE_2023.read_bytes(), base=PAGE_2025.read_bytes())
    [section] = [c for c in changes if c.kind == "section_removed"]
    line = describe(section)
    assert (line.mark, line.text) == (
        "removed",
        "section removed: 151 resource types (System assigned 136, User assigned 114, "
        "1 unreadable)",
    )
    assert len(line.listing) == 151 and line.details == ()
