"""The published HTML path: the same cells as the markdown, and nothing from the site."""

from __future__ import annotations

import pytest

from watcher.parse import parse

from . import CORPUS_FILES, corpus_file
from .chrome import published_html


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_published_page_gives_the_records_of_its_markdown(name: str) -> None:
    markdown = corpus_file(name).read_bytes()
    from_markdown = parse(markdown, "markdown")
    from_html = parse(published_html(markdown), "html")
    assert from_html.records == from_markdown.records
    assert (from_html.title, from_html.ms_date) == (from_markdown.title, from_markdown.ms_date)
    assert from_html.tables == from_markdown.tables


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_auto_recognises_both_forms(name: str) -> None:
    markdown = corpus_file(name).read_bytes()
    assert parse(markdown).records == parse(markdown, "markdown").records
    page = published_html(markdown)
    assert parse(page).records == parse(page, "html").records
    assert parse(page, content_type="text/html; charset=utf-8").records == (
        parse(page, "html").records
    )


def test_chrome_headings_and_tables_are_not_the_article() -> None:
    page = published_html(
        corpus_file("status-page/2021-12-08__MicrosoftDocs__00605c9.md").read_bytes()
    )
    doc = parse(page, "html")
    # The site's "In this article" H2, its aside and its footer table must not show up:
    # the page's one table sits under its H1 only.
    assert doc.tables == 1
    assert {(r.section, r.row) for r in doc.records} == {("", "")}
    assert "Training" not in {r.entity for r in doc.records}
    assert "Documentation" not in {r.entity for r in doc.records}


def _page(body: str, head: str = "") -> bytes:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>".encode()


MATRIX = (
    "<table><thead><tr><th>Managed identity type</th><th>Azure Government</th></tr></thead>"
    "<tbody><tr><td>System assigned</td><td>Available</td></tr></tbody></table>"
)


def test_without_main_the_h1_ancestor_holding_tables_is_the_article() -> None:
    page = _page(
        "<div id='chrome'><h2>Site</h2><table><tr><th>a</th><th>b</th></tr>"
        "<tr><td>x</td><td>y</td></tr></table></div>"
        f"<div id='page'><div><h1>Title</h1></div><h2>S</h2><h3>Svc</h3>{MATRIX}</div>"
    )
    doc = parse(page, "html")
    assert doc.tables == 1
    assert [(r.section, r.entity, r.row_key, r.column_key, r.status) for r in doc.records] == [
        ("S", "Svc", "system_assigned", "usgov", "available")
    ]
    assert doc.title == "Title"


def test_without_h1_the_whole_body_is_read() -> None:
    doc = parse(_page(f"<h2>S</h2><h3>Svc</h3>{MATRIX}"), "html")
    assert len(doc.records) == 1


def test_title_and_date_from_meta_then_title_then_h1() -> None:
    head = (
        '<title>Other - Microsoft Learn</title><meta name="ms.date" content="01/28/2021">'
        '<meta name="title" content="Meta title">'
    )
    doc = parse(_page(f"<main><h1>H</h1>{MATRIX}</main>", head), "html")
    assert (doc.title, doc.ms_date) == ("Meta title", "2021-01-28")
    doc = parse(_page("<main><h1>H</h1></main>", "<title>Page | Microsoft Learn</title>"), "html")
    assert (doc.title, doc.ms_date) == ("Page", None)
    assert parse(_page("<main><h1> The  H1 </h1></main>"), "html").title == "The H1"


def test_bad_ms_date_is_a_warning() -> None:
    doc = parse(_page("<h1>H</h1>", '<meta name="ms.date" content="13/45/2021">'), "html")
    assert doc.ms_date is None
    assert any("ms.date" in w for w in doc.warnings)


def test_cell_text_rules() -> None:
    table = (
        "<h2>S</h2><h3>E</h3><table><tr><th>Managed identity type</th><th>Azure Global</th>"
        "<th>Azure Government</th><th>Azure Germany</th><th>Azure China</th></tr>"
        "<tr><td>System assigned</td>"
        '<td> <img src="check.png" alt="Available"> </td>'
        "<td>Linux:\n  Preview<BR>Windows: Not available</td>"
        "<td>Linux: Preview</BR>Windows: Not available<br/></td>"
        '<td><a href="/r">Available in supported  regions</a></td></tr></table>'
    )
    cells = parse(_page(table), "html").records
    assert [(r.raw, r.status, r.links) for r in cells] == [
        ("Available", "available", ()),
        ("Linux: Preview<br>Windows: Not available", "mixed", ()),
        ("Linux: Preview<br>Windows: Not available", "mixed", ()),
        ("Available in supported regions", "available", ("/r",)),
    ]


def test_ragged_html_rows_warn_and_pad() -> None:
    table = (
        "<h3>E</h3><table><tr><th>Managed identity type</th><th>Azure Global</th></tr>"
        "<tr><td>System assigned</td><td>Preview</td><td>extra</td></tr>"
        "<tr><td>User assigned</td></tr></table>"
    )
    doc = parse(_page(table), "html")
    assert [(r.row_key, r.raw, r.status) for r in doc.records] == [
        ("system_assigned", "Preview", "preview"),
        ("user_assigned", "", "unknown"),
    ]
    assert doc.warnings == (
        "table 1 under 'E': row 2 has 3 cells, header has 2: extra cells ignored",
        "table 1 under 'E': row 3 has 1 cells, header has 2: missing cells read as empty",
    )


def test_unreadable_html_is_a_document_with_a_warning() -> None:
    doc = parse(b"<html><body><p>nothing here</p></body></html>", "html")
    assert (doc.records, doc.tables) == ((), 0)
    assert doc.warnings == ("no tables found in the html page",)
