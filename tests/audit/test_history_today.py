"""Today's page through storage and the audit queries, on SQLite and PostgreSQL: a capability
lost on a resource type is a stored regression a default route sends; a documentation
retarget is stored with its links and shown by `changes`, CSV and `export`; `history`,
`state` and `reparse` follow the typed identity records."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

from sqlalchemy import delete, select

from tests.cliutil import run, run_json
from tests.conftest import CORPUS, later_2025
from watcher.domain.document import Record
from watcher.storage import records
from watcher.storage.engine import make_engine, session_factory
from watcher.storage.models import ChangeRow, Snapshot

PAGE_2023 = CORPUS / "status-page" / "2023-05-25__MicrosoftDocs__6f6728e.md"
PAGE_2025 = CORPUS / "status-page" / "2025-05-09__MicrosoftDocs-entra-docs__41d266e.md"


def imported(db_url: str, tmp_path: Path, *, notify: bool = False) -> str:
    config = tmp_path / "watcher.toml"
    # The default route: no filters, min_severity "notice".
    config.write_text('[[routes]]\nname = "team"\nchannel = "stdout"\n')
    pages = [str(PAGE_2023), str(PAGE_2025), str(later_2025(tmp_path))]
    extra = ["--notify"] if notify else []
    run("import", *pages, "--source", "mi", *extra, db=db_url, config=str(config))
    return str(config)


def test_a_lost_identity_type_is_stored_as_a_regression(db_url: str, tmp_path: Path) -> None:
    imported(db_url, tmp_path)
    rows = run_json("changes", "--since", "2025-06-01", db=db_url)
    assert [
        (
            r["kind"],
            r["severity"],
            r["entity"],
            r["row"],
            r["column"],
            r["old_status"],
            r["new_status"],
        )
        for r in rows
    ] == [
        ("link_changed", "info", "Azure Virtual Machines", "", "documentation", None, None),
        (
            "status_changed",
            "notice",
            "Microsoft.Sql/servers/databases",
            "system_assigned",
            "identity_types",
            "not_available",
            "available",
        ),
        (
            "status_changed",
            "warning",
            "Microsoft.Web/sites",
            "user_assigned",
            "identity_types",
            "available",
            "not_available",
        ),
    ]
    link, _, loss = rows
    assert (link["old_links"], link["new_links"]) == (
        ["/azure/virtual-machines/windows/security-policy"],
        ["/azure/virtual-machines/overview"],
    )
    assert (loss["old_links"], loss["new_links"], loss["old_raw"], loss["new_raw"]) == (
        [],
        [],
        "User-assigned",
        "",
    )
    table = run("changes", "--since", "2025-06-01", db=db_url).stdout
    assert "Microsoft.Web/sites\n    warning User assigned: Available → Not available" in table
    assert (
        "Azure Virtual Machines\n    info    Documentation link: "
        "/azure/virtual-machines/windows/security-policy → /azure/virtual-machines/overview"
    ) in table


def test_links_in_csv_and_export(db_url: str, tmp_path: Path) -> None:
    imported(db_url, tmp_path)
    text = run("changes", "--kind", "link_changed", "--format", "csv", db=db_url).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    # The real retargets of 2023 → 2025, and the hand-made one of the later copy.
    assert [r["entity"] for r in rows] == [
        "Azure Machine Learning Services",
        "Microsoft Purview",
        "Azure Synapse",
        "Azure Virtual Machines",
    ]
    assert json.loads(rows[2]["old_links"]) == [
        "/azure/synapse-analytics/security/synapse-workspace-managed-identity"
    ]
    assert json.loads(rows[2]["new_links"]) == ["/azure/data-factory/data-factory-service-identity"]
    exported = json.loads(run("export", "--format", "json", db=db_url).stdout)
    synapse = [
        r for r in exported if r["kind"] == "link_changed" and r["entity"] == "Azure Synapse"
    ]
    assert [(r["old_links"], r["new_links"], r["to_origin_ref"]) for r in synapse] == [
        (
            ["/azure/synapse-analytics/security/synapse-workspace-managed-identity"],
            ["/azure/data-factory/data-factory-service-identity"],
            str(PAGE_2025),
        )
    ]


def test_history_and_state_follow_the_identity_types(db_url: str, tmp_path: Path) -> None:
    imported(db_url, tmp_path)
    timeline = run_json("history", "Microsoft.Web/sites", db=db_url)
    user = [(r["status"], r["since"], r["until"]) for r in timeline if r["row"] == "user_assigned"]
    assert user == [
        ("available", "2025-05-09T00:00:00Z", "2025-06-02T00:00:00Z"),
        ("not_available", "2025-06-02T00:00:00Z", None),
    ]
    system = [r["status"] for r in timeline if r["row"] == "system_assigned"]
    assert system == ["available"]

    def sites(*args: str) -> list[tuple[str, str]]:
        rows = run_json("state", *args, db=db_url)
        return [(r["row"], r["status"]) for r in rows if r["entity"] == "Microsoft.Web/sites"]

    assert sites("--at", "2025-05-20") == [
        ("system_assigned", "available"),
        ("user_assigned", "available"),
    ]
    assert sites() == [("system_assigned", "available"), ("user_assigned", "not_available")]


def test_a_default_route_sends_the_capability_change(db_url: str, tmp_path: Path) -> None:
    config = imported(db_url, tmp_path, notify=True)
    out = run("dispatch", "--linger", "0", db=db_url, config=config).stdout
    assert "Microsoft.Web/sites\n  ▼ User assigned: Available → Not available" in out
    assert "Microsoft.Sql/servers/databases\n  ▲ System assigned: Not available → Available" in out
    # The 151 new resource types are summarized, and the retargets are not sent by default.
    assert (
        "section added: 151 resource types (System assigned 136, User assigned 114, 1 unreadable)"
        in out
    )
    assert "link:" not in out


def stored_by_parser_1(db_url: str, page: Path) -> None:
    """Make the stored snapshot of ``page`` look as parser version 1 stored it: each
    identity-types cell one untyped text record, links as the page spelled them."""
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        snap = s.scalars(select(Snapshot).where(Snapshot.origin_ref == str(page))).one()
        snap.parser_version = "1"
        kept: list[Record] = []
        seen: set[tuple[str, str]] = set()
        for r in records.of_snapshot(s, snap.id):
            if r.column_key == "identity_types":
                if (r.entity_key, r.entity) in seen:
                    continue
                seen.add((r.entity_key, r.entity))
                r = replace(
                    r,
                    row="",
                    column="Identity types(s)",
                    raw="System-assigned<br>User-assigned",
                    status=None,
                    row_key="",
                    column_key="identitytypess",
                    parts=(),
                    links=(),
                )
            if r.links:
                spelled = tuple(f"https://learn.microsoft.com/en-us{x}.md" for x in r.links)
                r = replace(r, links=spelled)
            kept.append(r)
        snap.records_id = records.store(s, kept)
    engine.dispose()


def test_reparse_brings_a_stored_page_up_to_the_typed_records(db_url: str, tmp_path: Path) -> None:
    imported(db_url, tmp_path)
    stored_by_parser_1(db_url, PAGE_2025)
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        s.execute(delete(ChangeRow))
    engine.dispose()
    out = run("reparse", db=db_url).stdout
    assert "records would change" not in out
    timeline = run_json("history", "Microsoft.Web/sites", db=db_url)
    assert {(r["row"], r["status"]) for r in timeline} == {
        ("system_assigned", "available"),
        ("user_assigned", "available"),
        ("user_assigned", "not_available"),
    }
    rows = run_json("changes", "--since", "2025-06-01", db=db_url)
    assert [(r["kind"], r["entity"], r["row"]) for r in rows] == [
        ("link_changed", "Azure Virtual Machines", ""),
        ("status_changed", "Microsoft.Sql/servers/databases", "system_assigned"),
        ("status_changed", "Microsoft.Web/sites", "user_assigned"),
    ]
    assert "no stored change is altered" in run("reparse", db=db_url).stdout


def test_after_an_upgrade_the_next_page_is_diffed_as_the_new_parser_reads_the_last(
    db_url: str, tmp_path: Path
) -> None:
    """A database written by parser 1, then the next version checked with this one: only
    the page's own changes, none of the parser's."""
    run("import", str(PAGE_2023), str(PAGE_2025), "--source", "mi", db=db_url)
    stored_by_parser_1(db_url, PAGE_2025)
    run("import", str(later_2025(tmp_path)), "--source", "mi", db=db_url)
    rows = run_json("changes", "--since", "2025-06-01", db=db_url)
    assert [(r["kind"], r["severity"], r["entity"], r["row"]) for r in rows] == [
        ("link_changed", "info", "Azure Virtual Machines", ""),
        ("status_changed", "notice", "Microsoft.Sql/servers/databases", "system_assigned"),
        ("status_changed", "warning", "Microsoft.Web/sites", "user_assigned"),
    ]


def test_a_history_filter_naming_nothing_of_the_entity_is_refused(
    db_url: str, tmp_path: Path
) -> None:
    imported(db_url, tmp_path)
    result = run("history", "Microsoft.Web/sites", "--column", "usgov", db=db_url, code=2)
    assert result.stderr == (
        "watcher: 'Microsoft.Web/sites' has no column 'usgov' (its rows: system_assigned, "
        "user_assigned; its columns: identity_types)\n"
    )
    result = run("history", "Microsoft.Web/sites", "--row", "user", db=db_url, code=2)
    assert result.stderr.startswith("watcher: 'Microsoft.Web/sites' has no row 'user' ")
    result = run("history", "Azure Synapse", "--row", "user_assigned", db=db_url, code=2)
    assert result.stderr == (
        "watcher: 'Azure Synapse' has no row 'user_assigned' (its rows: none; its columns: "
        "documentation)\n"
    )
    rows = run_json("history", "Microsoft.Web/sites", "--row", "user_assigned", db=db_url)
    assert [r["status"] for r in rows] == ["available", "not_available"]
