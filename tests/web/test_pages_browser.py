"""In a real browser (system Chromium, Playwright), on the database `watcher demo` leaves:
the auditor opens the page as of 2021-06-01, clicks the AKS · User assigned · Azure
Government cell and reads its timeline; no page asks for a script or breaks its content
security policy."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT
from tests.web.browser import browser_page, require_chromium, served_demo
from tests.web.conftest import AKS
from tests.web.make_docs import SHOTS


def test_open_the_matrix_click_a_cell_reach_its_timeline(tmp_path: Path) -> None:
    require_chromium()
    with served_demo(tmp_path) as base, browser_page() as page:
        page.goto(f"{base}/")
        page.fill("input[name=at]", "2021-06-01")
        page.click("form.asof button")
        page.wait_for_url(f"{base}/?at=2021-06-01")
        standing = page.inner_text("p.standing")
        assert "snapshot 2 of demo-azure-managed-identities" in standing
        assert "page dated 2021-01-28" in standing
        cell = page.locator(
            "td.cell a[href*='row=user_assigned'][href*='column=usgov']"
            "[href*='entity=Azure%20Kubernetes%20Service%20%28AKS%29']"
        )
        assert cell.inner_text() == "Not available"
        colour = cell.evaluate("a => getComputedStyle(a.parentElement).backgroundColor")
        assert colour == "rgb(255, 235, 233)"  # not available's red, from the stylesheet
        cell.click()
        page.wait_for_url("**/history?**")
        timeline = page.inner_text("section.timeline")
        assert AKS in timeline and "User assigned · Azure Government" in timeline
        rows = page.locator("section.timeline tbody tr")
        assert rows.count() == 2
        available = rows.nth(1).inner_text()
        assert available.startswith("Available") and "2021-11-09 00:00" in available
        assert "2021-12-08 00:00" in available  # until the page changed format
        assert "Not available → Available" in available
        # Every page of the view, as a browser loads it: nothing blocked, nothing scripted.
        for path in ["/", "/changes", "/diff?old=2&new=3", "/snapshots/3", "/status"]:
            page.goto(f"{base}{path}")
            assert page.evaluate("document.scripts.length") == 0, path
        assert page.problems == []


def test_the_readme_shows_a_screenshot_of_each_page() -> None:
    """docs/ holds the screenshots tests/web/make_docs.py takes, and the README shows them."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, _, what in SHOTS:
        png = ROOT / "docs" / name
        assert png.read_bytes().startswith(b"\x89PNG"), f"{name}: run python -m tests.web.make_docs"
        assert f"![{what}](docs/{name})" in readme, name
