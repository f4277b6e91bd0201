"""The JSON API serves the command line's JSON: the same rows, fields and order for
changes, state, history, snapshots, status and diff; paged by a cursor in a Link header;
every answer valid against the OpenAPI schema it serves, itself a valid OpenAPI 3.1 document."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from tests.cliutil import run_json
from tests.conftest import EN_CHAIN
from tests.web.conftest import AKS, Client, import_pages


def _all_pages(client: TestClient, url: str) -> tuple[list[dict[str, Any]], int]:
    rows: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        r = client.get(next_url)
        assert r.status_code == 200, r.text
        rows += r.json()
        pages += 1
        link = r.headers.get("link")
        found = re.fullmatch(r'<([^>]+)>; rel="next"', link) if link else None
        next_url = found.group(1) if found else None
    return rows, pages


def test_the_change_log_pages_to_exactly_the_command_lines(
    client: TestClient, history_db: str
) -> None:
    for filters, cli in [
        ("", []),
        ("&column=usgov", ["--column", "usgov"]),
        ("&entity=azure%20k*&since=2021-02-01", ["--entity", "azure k*", "--since", "2021-02-01"]),
        ("&severity=warning", ["--severity", "warning"]),
    ]:
        wanted = run_json("changes", *cli, db=history_db)
        rows, pages = _all_pages(client, f"/api/v1/changes?limit=7{filters}")
        assert rows == wanted, filters
        assert pages == max(1, -(-len(wanted) // 7)), filters
    assert _all_pages(client, "/api/v1/changes")[0] == run_json("changes", db=history_db)


def test_state_history_snapshots_status_and_diff_are_the_command_lines(
    client: TestClient, history_db: str
) -> None:
    cell = ["--row", "user_assigned", "--column", "usgov"]
    same = [
        ("/api/v1/state", ["state"]),
        ("/api/v1/state?at=2021-06-01&entity=Azure%20K*", ["state", "--at", "2021-06-01"]),
        (f"/api/v1/history?entity={AKS}", ["history", AKS]),
        (f"/api/v1/history?entity={AKS}&row=user_assigned&column=usgov", ["history", AKS, *cell]),
        ("/api/v1/snapshots", ["snapshots"]),
        ("/api/v1/status", ["status"]),
        ("/api/v1/diff?old=2&new=5", ["diff", "2", "5"]),
    ]
    same[1][1].extend(["--entity", "Azure K*"])
    for url, cli in same:
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.json() == run_json(*cli, db=history_db), url
    rows, pages = _all_pages(client, "/api/v1/snapshots?limit=4")
    assert rows == run_json("snapshots", db=history_db) and pages == 2


def test_every_answer_is_valid_against_the_served_schema(client: TestClient) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    validate(schema)  # a valid OpenAPI 3.1 document
    components = schema["components"]["schemas"]
    for path, op in schema["paths"].items():
        name = op["get"]["operationId"]
        query = {"history": f"?entity={AKS}", "diff": "?old=1&new=6"}.get(name, "")
        body = client.get(path + query).json()
        assert body, path
        jsonschema.validate(body, components[name])


def test_a_bad_request_is_one_line_of_json(client: TestClient) -> None:
    for url, status, words in [
        ("/api/v1/changes?kind=nope", 400, "'nope' is not a known change kind"),
        ("/api/v1/changes?source=x", 400, "no source named 'x' (known: mi)"),
        ("/api/v1/changes?limit=0", 400, "limit: 0 is not between 1 and 1000"),
        ("/api/v1/changes?after=999999", 404, "no change 999999 to page on from"),
        ("/api/v1/state?at=yesterday", 400, "at: 'yesterday' is not an ISO 8601 date"),
        ("/api/v1/history", 400, "entity: name an entity"),
        ("/api/v1/diff?old=1&new=99", 404, "no snapshot 99"),
        ("/api/v1/diff?old=1", 400, "new: a snapshot id is needed"),
    ]:
        r = client.get(url)
        assert r.status_code == status, url
        assert set(r.json()) == {"error"} and words in r.json()["error"], url
        assert "\n" not in r.json()["error"]


def test_pages_over_several_sources_are_the_command_lines_order(
    db_url: str, make_client: Client
) -> None:
    """Each source is read along its own index; the pages merge them in the log's order."""
    import_pages(db_url, EN_CHAIN[1:], source="b")  # 2021-01-28 on: interleaves with "a"
    import_pages(db_url, [EN_CHAIN[0], EN_CHAIN[2]], source="a")
    client = make_client(db_url)
    wanted = run_json("changes", db=db_url)
    assert {r["source"] for r in wanted} == {"a", "b"}
    for limit in (1, 5, 16, 1000):
        assert _all_pages(client, f"/api/v1/changes?limit={limit}")[0] == wanted, limit
