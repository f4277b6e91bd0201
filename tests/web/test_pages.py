"""The pages on the real page history (SQLite and PostgreSQL): what an auditor reads there is
what the command line answers, and the two questions of issue 18 are answered by a look and a
click — what did the page say on 2021-06-01, and since when has AKS supported user-assigned
identities in Azure Government?"""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.cliutil import run_json
from tests.conftest import EN_CHAIN, STATUS_CHAIN
from tests.web.conftest import AKS, SOURCE, Client, html, import_pages, words
from watcher.audit.changes import describe_change
from watcher.domain.describe import STATUS_LABEL
from watcher.web import pages


def _cell_links(page: object) -> dict[tuple[str, str, str], object]:
    """The matrix cells by (entity, row, column), from the links they carry."""
    found = {}
    for a in page.css("td.cell a"):  # type: ignore[attr-defined]
        q = parse_qs(urlsplit(a.attributes["href"]).query)
        found[(q["entity"][0], q["row"][0], q["column"][0])] = a
    return found


def test_as_of_2021_06_01_is_the_matrix_of_the_version_in_force(
    client: TestClient, history_db: str
) -> None:
    """Question 1: the page names the snapshot it stands on, its sha256 and provenance, and
    shows every cell of `watcher state --at 2021-06-01`, coloured by its status."""
    page = html(client.get("/?at=2021-06-01"))
    standing = words(page.css_first("p.standing"))
    snaps = run_json("snapshots", db=history_db)
    assert f"snapshot {snaps[1]['id']} of {SOURCE}" in standing
    assert hashlib.sha256(EN_CHAIN[1].read_bytes()).hexdigest() in standing
    assert "page dated 2021-01-28" in standing and "import" in standing
    assert EN_CHAIN[1].name in standing  # the file it was imported from
    cells = _cell_links(page)
    state = run_json("state", "--at", "2021-06-01", db=history_db)
    assert len(cells) == len(state) == 344
    for r in state:
        a = cells[(r["entity"], r["row"], r["column"])]
        # A line break the page writes in a cell (<br>) is one.
        shown = STATUS_LABEL[r["status"]] if r["status"] else " ".join(r["raw"].split("<br>"))
        assert words(a) == shown
        colour = f"st-{r['status']}" if r["status"] else "st-text"
        assert colour in a.parent.attributes["class"].split()
    # The matrix: identity types over clouds.
    header = [words(th) for th in page.css("section.matrix")[0].css("thead tr")[0].css("th")]
    assert header == ["Entity", "System assigned", "User assigned"]
    aks = cells[(AKS, "user_assigned", "usgov")]
    assert words(aks) == "Not available"


def test_a_cell_links_to_its_timeline_with_the_change_that_started_each_value(
    client: TestClient, history_db: str
) -> None:
    """Question 2: the AKS · User assigned · Azure Government cell leads to its timeline:
    Available since 2021-11-09, started by the change that says so."""
    cell = _cell_links(html(client.get("/?at=2021-06-01")))[(AKS, "user_assigned", "usgov")]
    timeline = html(client.get(cell.attributes["href"]))
    (section,) = timeline.css("section.timeline")
    assert "User assigned · Azure Government" in words(section.css_first("h2"))
    lines = [[words(td, "") for td in tr.css("td")] for tr in section.css("tbody tr")]
    history = run_json("history", AKS, "--row", "user_assigned", "--column", "usgov", db=history_db)
    assert [(line[0], line[1], line[2]) for line in lines] == [
        ("Not available", "2021-01-28 00:00", "2021-11-09 00:00"),
        ("Available", "2021-11-09 00:00", "2021-12-08 00:00"),
    ]
    (change,) = [c for c in run_json("changes", db=history_db) if c["id"] == history[1]["change"]]
    assert lines[1][4] == (
        f"change {change['id']}: User assigned · Azure Government: Not available → Available"
    )
    # The entity's own timeline: all its cells.
    whole = html(client.get(timeline.css_first("section.timeline h2 a").attributes["href"]))
    assert len(whole.css("section.timeline")) == len(
        {(r["row"], r["column"]) for r in run_json("history", AKS, db=history_db)}
    )


def test_now_is_todays_page_service_list_and_resource_types_by_identity_type(
    client: TestClient,
) -> None:
    page = html(client.get("/"))
    assert "snapshot 6 of mi" in words(page.css_first("p.standing"))
    tables = {words(s.css_first("h2")): s for s in page.css("section.matrix")}
    services = tables["Services supporting managed identities mi"]
    resources = tables["Resource providers and resource types supporting managed identities mi"]
    assert [words(th) for th in services.css("thead th")] == ["Entity", "Documentation"]
    assert [words(th) for th in resources.css("thead th")] == [
        "Entity",
        "System assigned",
        "User assigned",
    ]
    assert len(services.css("tbody tr")) == 64
    assert len(resources.css("tbody tr")) == 151


def test_the_change_log_pages_with_the_command_lines_filters(
    client: TestClient, history_db: str
) -> None:
    wanted = run_json("changes", "--column", "usgov", "--severity", "notice", db=history_db)
    seen: list[str] = []
    url: str | None = "/changes?column=usgov&severity=notice&limit=4"
    pages = 0
    while url:
        page = html(client.get(url))
        seen += [words(li, "") for li in page.css("section.changeset li")]
        more = page.css_first("a[rel=next]")
        url = "/changes" + more.attributes["href"].removeprefix("/changes") if more else None
        pages += 1
    assert pages == -(-len(wanted) // 4)
    # Newest check first (a check's changes in page order), in the command line's words.
    newest_first = sorted(wanted, key=lambda r: r["detected_at"], reverse=True)
    assert seen == [f"{r['severity']} {r['entity']}: {describe_change(r)}" for r in newest_first]


def test_a_filter_the_command_line_refuses_is_refused_in_its_words(client: TestClient) -> None:
    r = client.get("/changes?kind=status_chnged")
    assert r.status_code == 400
    assert "&#39;status_chnged&#39; is not a known change kind; did you mean" in r.text
    r = client.get("/changes?source=nope")
    assert r.status_code == 400 and "no source named &#39;nope&#39; (known: mi)" in r.text
    assert client.get("/?at=2021-13-01").status_code == 400
    assert client.get("/snapshots/999").status_code == 404


def test_the_diff_of_two_snapshots_is_the_command_lines(
    client: TestClient, history_db: str
) -> None:
    page = html(client.get("/diff?old=1&new=3"))
    rows = run_json("diff", "1", "3", db=history_db)
    assert [words(li, "") for li in page.css("li")] == [
        f"{r['severity']} {r['entity'] or r['section'] or '(page)'}: {describe_change(r)}"
        for r in rows
    ]
    assert len(page.css("p.standing")) == 2


def test_a_snapshot_page_shows_its_page_as_text_and_downloads_its_bytes(
    client: TestClient, history_db: str
) -> None:
    page = html(client.get("/snapshots/6"))
    body = STATUS_CHAIN[2].read_bytes()
    assert page.css_first("pre.raw-page").text() == body.decode()
    assert hashlib.sha256(body).hexdigest() in words(page.css_first("dl.meta"))
    assert len(page.css("table.records tbody tr:not(.section)")) == 366
    raw = client.get("/snapshots/6/raw")
    assert raw.content == body
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.headers["content-disposition"].startswith("attachment")
    listing = html(client.get("/snapshots"))
    assert [words(tr.css_first("td")) for tr in listing.css("tbody tr")] == [
        str(s["id"]) for s in run_json("snapshots", db=history_db)
    ]


def test_status_shows_health_and_the_command_for_a_held_snapshot(
    db_url: str, make_client: Client
) -> None:
    import_pages(db_url, [*EN_CHAIN, STATUS_CHAIN[0]])  # the new format: held by the guard
    page = html(make_client(db_url).get("/status"))
    rows = {words(tr.css_first("td")): words(tr) for tr in page.css("tbody tr")}
    assert rows["mi"].startswith("mi quarantined")
    assert rows["azure-managed-identities"].startswith("azure-managed-identities never checked")
    (held,) = page.css("section.held")
    assert "336 of 336 status cells are gone at once" in words(held)
    assert held.css_first("pre").text() == 'watcher accept 4\nwatcher reject 4 --reason "..."'


def test_an_entity_shows_each_cells_latest_values_and_links_to_the_rest(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long history stays a page a person reads: the entity's page shows each cell's
    latest values (ENTITY_RECENT), the cell's own page all of them."""
    monkeypatch.setattr(pages, "ENTITY_RECENT", 1)
    entity = html(client.get("/history?source=mi&entity=Azure%20Kubernetes%20Service%20(AKS)"))
    (cell,) = [
        s for s in entity.css("section.timeline") if "User assigned · Azure Government" in words(s)
    ]
    assert len(cell.css("tbody tr")) == 1
    assert words(cell.css_first("p.earlier"), "") == (
        "1 earlier value of this cell: its whole timeline"
    )
    whole = html(client.get(cell.css_first("p.earlier a").attributes["href"]))
    assert len(whole.css("section.timeline tbody tr")) == 2
    assert whole.css_first("p.earlier") is None
