"""parse() is total: no input makes it raise, and what it returns is well formed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.domain.document import STATUSES, Document
from watcher.parse import parse

# Fragments the page is made of, so that generated pages reach the table code often.
_MD_PIECES = st.sampled_from(
    [
        "---\n",
        "title: x\n",
        "ms.date: 01/28/2021\n",
        "# H1\n",
        "## Section\n",
        "### Svc\n",
        "| Managed identity type | Azure Global | Azure Government |\n",
        "|---|:-:|---|\n",
        "| --- | --- |\n",
        "| System assigned | ![Available][check] | Not available |\n",
        "| User assigned | Linux: Preview<br>Windows: Not available |\n",
        "| a | b | c | d |\n",
        "| Cloud | Resource ID | Status |\n",
        "| Azure Global | `https://x` | Preview |\n",
        "Namespace | ResourceType | Identity types(s) |\n",
        '[check]: c.png "Available"\n',
        "```\n",
        "> quote\n",
        "- item\n",
        "\n",
        "|",
        "\\|",
        "<br>",
        "</BR>",
        "<table>",
        "<td>",
    ]
)
_HTML_PIECES = st.sampled_from(
    [
        "<html>",
        "<main>",
        "</main>",
        "<article>",
        "<h1>T</h1>",
        "<h2>S</h2>",
        "<h3>E</h3>",
        "<table>",
        "</table>",
        "<tr>",
        "</tr>",
        "<td>",
        "</td>",
        "<th>",
        "Available",
        "Preview",
        "<br>",
        "<img alt='Check'>",
        "<a href='x'>Available in all</a>",
        "<nav>",
        "<footer>",
        "</footer>",
        "<meta name='ms.date' content='01/28/2021'>",
        "<!--",
        "-->",
        "<script>",
        "</script>",
        "&amp;",
        "&#0;",
        "<td colspan=3>",
        "\x00",
    ]
)


def _well_formed(doc: Document) -> None:
    assert isinstance(doc, Document)
    assert all(r.status is None or r.status in STATUSES for r in doc.records)
    assert len({r.key for r in doc.records}) == len(doc.records)
    assert doc.tables >= 0
    # parse() catches everything as a last resort; the code under it should not need that.
    assert not [w for w in doc.warnings if w.startswith("parser failed")]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_as_markdown(text: str) -> None:
    _well_formed(parse(text.encode("utf-8", "surrogatepass"), "markdown"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_MD_PIECES, st.text(max_size=8)), max_size=40))
def test_page_like_markdown(pieces: list[str]) -> None:
    _well_formed(parse("".join(pieces).encode("utf-8", "surrogatepass")))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(_HTML_PIECES, st.text(max_size=8)), max_size=60))
def test_html_ish_text(pieces: list[str]) -> None:
    body = "".join(pieces).encode("utf-8", "surrogatepass")
    _well_formed(parse(body, "html"))
    _well_formed(parse(body, "auto", "text/html"))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from(["markdown", "html", "auto"]))
def test_arbitrary_bytes(body: bytes, fmt: str) -> None:
    _well_formed(parse(body, fmt))  # type: ignore[arg-type]
