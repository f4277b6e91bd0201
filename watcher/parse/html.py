"""HTML input: the published page, whose article sits inside the site's chrome.

learn.microsoft.com wraps the article in a header, navigation and a footer, and the
footer can hold a table of its own; only the article's tables are the page's. The
article is the element that holds the H1 and the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from watcher.parse.links import published_folder
from watcher.parse.markdown import iso_date
from watcher.parse.tables import heading_text

_CONTAINERS = "main, [role=main], article"
_TITLE_SUFFIXES = (
    " | Microsoft Learn",
    " - Microsoft Learn",
    " | Microsoft Docs",
    " - Microsoft Docs",
)


@dataclass(frozen=True, slots=True)
class Page:
    parser: LexborHTMLParser  # kept: the article node needs its parser alive
    article: LexborNode | None
    title: str | None
    ms_date: str | None
    warnings: tuple[str, ...]
    folder: str  # the site folder it is published in, for its relative links


def article(parser: LexborHTMLParser) -> LexborNode | None:
    """The innermost main/article/[role=main] holding the H1 and a table; else the nearest
    ancestor of the H1 that holds a table; else main/article; else the body."""
    holders = [c for c in parser.css(_CONTAINERS) if c.css_first("h1") is not None]
    with_tables = [c for c in holders if c.css_first("table") is not None]
    if with_tables:
        return with_tables[-1]
    if holders:
        return holders[0]
    h1 = parser.css_first("h1")
    node = h1.parent if h1 is not None else None
    while node is not None and node.tag not in ("html", "body"):
        if node.css_first("table") is not None:
            return node
        node = node.parent
    return parser.css_first(_CONTAINERS) or parser.body or parser.root


def _meta(parser: LexborHTMLParser) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in parser.css("meta"):
        attrs = node.attributes
        name = (attrs.get("name") or attrs.get("property") or "").strip().lower()
        content = attrs.get("content")
        if name and content is not None and name not in found:
            found[name] = content.strip()
    return found


def _title(parser: LexborHTMLParser, meta: dict[str, str], root: LexborNode | None) -> str | None:
    for name in ("title", "og:title"):
        if meta.get(name):
            return meta[name]
    node = parser.css_first("title")
    text = " ".join((node.text() if node is not None else "").split())
    for suffix in _TITLE_SUFFIXES:
        text = text.removesuffix(suffix)
    if text:
        return text
    h1 = root.css_first("h1") if root is not None else None
    if h1 is None:
        return None
    return heading_text(h1) or None


def read(text: str) -> Page:
    """The article of a published page with its title and ms.date."""
    parser = LexborHTMLParser(text)
    root = article(parser)
    meta = _meta(parser)
    warnings: list[str] = []
    raw_date = meta.get("ms.date")
    ms_date = iso_date(raw_date) if raw_date else None
    if raw_date and ms_date is None:
        warnings.append(f"ms.date {raw_date!r} is not a MM/DD/YYYY date: ignored")
    canonical = parser.css_first('link[rel="canonical"]')
    url = canonical.attributes.get("href") if canonical is not None else meta.get("og:url")
    folder = published_folder(meta.get("ms.service"), url)
    return Page(parser, root, _title(parser, meta, root), ms_date, tuple(warnings), folder)
