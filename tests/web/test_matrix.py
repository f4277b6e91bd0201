"""The state of a page laid out as tables: the matrix era's identity types over clouds, today's
page's service list and resource types by identity type, cells where the page has them."""

from __future__ import annotations

from typing import Any

from tests.conftest import EN_CHAIN, PAGE_2025
from watcher.parse import parse
from watcher.web.matrix import tables


def _rows(path: Any) -> list[dict[str, Any]]:
    """A page's records as state rows (the fields watcher.web.matrix reads)."""
    doc = parse(path.read_bytes(), "markdown")
    return [
        {
            "source": "mi",
            "section": r.section,
            "entity": r.entity,
            "row": r.row_key,
            "column": r.column_key,
            "row_label": r.row,
            "column_label": r.column,
            "status": r.status,
            "raw": r.raw,
            "snapshot": 1,
        }
        for r in doc.records
    ]


def test_the_matrix_era_is_identity_type_over_cloud() -> None:
    mi, aad = tables(_rows(EN_CHAIN[2]))
    assert mi.header_groups() == [("System assigned", 4), ("User assigned", 4)]
    assert [mi.label(c) for c in mi.columns] == [
        "All Generally Available<br>Global Azure Regions",
        "Azure Government",
        "Azure Germany",
        "Azure China 21Vianet",
    ] * 2
    assert "Azure AD authentication" in aad.section
    assert len(mi.lines) == 36 and sum(len(line.cells) for line in mi.lines) == 288
    aks = next(line for line in mi.lines if line.entity == "Azure Kubernetes Service (AKS)")
    usgov_user = next(c for c in mi.columns if (c.row, c.column) == ("user_assigned", "usgov"))
    cell = aks.cell(usgov_user)
    assert cell is not None and cell["status"] == "available"


def test_todays_page_is_a_service_list_and_resource_types_by_identity_type() -> None:
    services, resources = tables(_rows(PAGE_2025))
    assert services.header_groups() == [] and [services.label(c) for c in services.columns] == [
        "Documentation"
    ]
    assert resources.header_groups() == []
    assert [resources.label(c) for c in resources.columns] == ["System assigned", "User assigned"]
    lines = {line.entity: line for line in resources.lines}
    sql = lines["Microsoft.Sql/servers/databases"]
    assert [sql.cell(c)["status"] for c in resources.columns] == ["not_available", "available"]
