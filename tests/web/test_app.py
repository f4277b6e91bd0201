"""What every answer of the app carries and refuses: the security headers, page text shown
as text (``<script>``, ``<!channel>``, a right-to-left override), GET only, and the bearer
token on the API and the feeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import PAGE_2025, STATUS_CHAIN
from tests.web.conftest import Client, html, import_pages

HOSTILE = "API <script>alert(1)</script> Management <!channel> \u202etxt.exe"
# How the page source writes it: markdown escapes, and the override as itself.
HOSTILE_MD = "API &lt;script&gt;alert(1)&lt;/script&gt; Management &lt;!channel&gt; \u202etxt.exe"
ESCAPED = "API &lt;script&gt;alert(1)&lt;/script&gt; Management &lt;!channel&gt; ⟨U+202E⟩txt.exe"

PATHS = [
    "/",
    "/?at=2021-06-01",
    "/history?entity=API*",
    "/changes",
    "/diff?old=1&new=2",
    "/snapshots",
    "/snapshots/2",
    "/status",
    "/static/style.css",
    "/api/v1/changes",
    "/api/v1/openapi.json",
    "/feeds/changes.atom",
    "/snapshots/99",
    "/changes?kind=nope",
]


def _hostile_page(folder: Path) -> Path:
    text = PAGE_2025.read_text(encoding="utf-8")
    name = "| API Management                  |"
    assert text.count(name) == 1
    path = folder / "2025-06-02.md"
    path.write_text(text.replace(name, f"| {HOSTILE_MD} |").replace("05/09/2025", "06/02/2025"))
    return path


@pytest.fixture
def hostile(db_url: str, make_client: Client, tmp_path: Path) -> TestClient:
    """Today's page, then a version of it naming a service with markup and an override."""
    import_pages(db_url, [STATUS_CHAIN[2], _hostile_page(tmp_path)])
    return make_client(db_url)


def test_page_text_with_markup_and_an_override_renders_as_text(hostile: TestClient) -> None:
    for path in ["/", "/history?entity=API*", "/changes", "/diff?old=1&new=2", "/snapshots/2"]:
        r = hostile.get(path)
        assert r.status_code == 200, path
        assert "<script>" not in r.text and "<!channel>" not in r.text, path
        assert "\u202e" not in r.text, path
        assert ESCAPED in r.text, path
        assert "script" not in {n.tag for n in html(r).css("*")}, path
    # Read back as text, the page says what the page said (the override made visible).
    name = html(hostile.get("/")).css_first("section.matrix tbody th").text()
    assert name == HOSTILE.replace("\u202e", "⟨U+202E⟩")


def test_every_answer_carries_the_security_headers(hostile: TestClient) -> None:
    for path in PATHS:
        r = hostile.get(path)
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'none'" in csp, path
        assert "unsafe-inline" not in csp
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert "server" not in r.headers


def test_the_view_is_read_only(hostile: TestClient) -> None:
    for path in ["/", "/status", "/api/v1/changes", "/feeds/changes.atom"]:
        assert hostile.post(path).status_code == 405
        assert hostile.delete(path).status_code == 405


def test_a_token_guards_the_api_and_the_feeds_and_only_them(
    db_url: str, make_client: Client
) -> None:
    import_pages(db_url, [STATUS_CHAIN[2]])
    client = make_client(db_url, token="s3cret-token")
    for path in [
        "/api/v1/changes",
        "/api/v1/status",
        "/api/v1/openapi.json",
        "/feeds/changes.atom",
    ]:
        denied = client.get(path)
        assert denied.status_code == 401, path
        assert denied.headers["www-authenticate"].startswith("Bearer")
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        ok = client.get(path, headers={"Authorization": "Bearer s3cret-token"})
        assert ok.status_code == 200, path
        assert "s3cret-token" not in ok.text
    for path in ["/", "/status", "/changes"]:
        r = client.get(path)
        assert r.status_code == 200 and "s3cret-token" not in r.text
