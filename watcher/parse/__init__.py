"""Parsing: the bytes of one page, markdown or published HTML, to a Document of records.

Both formats go through the same table extractor (markdown is first rendered to HTML with
GitHub's GFM engine). Pure and total: any input gives a Document; what could not be
read is said in its warnings, never raised, so one broken page never stops a run.

May import: ``watcher.domain`` only.

The parser's own modules (and selectolax, cmarkgfm) are imported when a page is parsed, not
with the package: the audit's queries use ``vocabulary`` alone, and a query command should not
load an HTML parser it never runs.
"""

from __future__ import annotations

import codecs
import re
from typing import Literal

from watcher.domain.document import Document

__all__ = ["PARSER_VERSION", "Format", "detect", "parse"]

# Bump when the same bytes would give other records, so stored pages can be re-read.
PARSER_VERSION = "2"

Format = Literal["markdown", "html", "auto"]

_MARKDOWN_TYPES = frozenset({"text/markdown", "text/x-markdown", "text/plain"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MD_TABLE = re.compile(r"^ {0,3}\|?\s*:?-{3,}:?\s*\|", re.MULTILINE)
_HTML_TABLE = re.compile(r"<table[\s>]", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _media_type(content_type: str | None) -> tuple[str, str | None]:
    if not content_type:
        return "", None
    media, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'") or None
    return media.strip().lower(), charset


def _decode(body: bytes, charset: str | None) -> tuple[str, list[str]]:
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace"), []
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return body.decode(charset), []
        except (LookupError, UnicodeDecodeError):
            pass
    text = body.decode("utf-8", errors="replace")
    return text, ["page is not valid UTF-8: undecodable bytes read as U+FFFD"]


def detect(text: str, content_type: str | None = None) -> Literal["markdown", "html"]:
    """The format of a page: by its content type, else by its first characters."""
    media, _ = _media_type(content_type)
    if media in _MARKDOWN_TYPES:
        return "markdown"
    if media in _HTML_TYPES:
        return "html"
    head = text[:4096].lstrip().lower()
    if head.startswith("---"):
        return "markdown"
    if head.startswith(("<!doctype", "<html")):
        return "html"
    if _MD_TABLE.search(text):
        return "markdown"
    if _HTML_TABLE.search(text):
        return "html"
    # Raw HTML passes through the markdown renderer, so markdown is the safer guess.
    return "markdown"


def _parse(body: bytes, fmt: str, content_type: str | None) -> Document:
    from selectolax.lexbor import LexborHTMLParser

    from watcher.parse import html, markdown
    from watcher.parse.links import Resolver, published_folder
    from watcher.parse.tables import Extraction, extract

    nothing = Extraction((), 0, (), None)
    if fmt not in ("markdown", "html", "auto"):
        return Document(records=(), warnings=(f"unknown format {fmt!r}: nothing read",))
    text, warnings = _decode(body, _media_type(content_type)[1])
    if not text.strip():
        return Document(records=(), warnings=(*warnings, "empty page: no tables"))
    kind = detect(text, content_type) if fmt == "auto" else fmt
    if kind == "markdown":
        rendered = markdown.to_html(text)
        parser = LexborHTMLParser(rendered.html)
        root = parser.body or parser.root
        resolve = Resolver(published_folder(rendered.service))
        found = extract(root, resolve) if root is not None else nothing
        title = rendered.title or found.h1
        ms_date = rendered.ms_date
        warnings.extend(rendered.warnings)
    else:
        page = html.read(text)
        resolve = Resolver(page.folder)
        found = extract(page.article, resolve) if page.article is not None else nothing
        title, ms_date = page.title, page.ms_date
        warnings.extend(page.warnings)
    warnings.extend(found.warnings)
    if found.tables == 0:
        warnings.append(f"no tables found in the {kind} page")
    return Document(
        records=found.records,
        title=title,
        ms_date=ms_date,
        tables=found.tables,
        warnings=tuple(warnings),
    )


def parse(
    body: bytes,
    fmt: Format = "auto",
    content_type: str | None = None,
) -> Document:
    """The Document of one page. Never raises: an unreadable page gives no records and
    a warning saying why."""
    try:
        return _parse(body, fmt, content_type)
    # The contract is totality: a bug here must cost one page (which the guard then
    # quarantines), never the run. The property tests check nothing gets this far.
    except Exception as exc:  # noqa: BLE001
        return Document(records=(), warnings=(f"parser failed: {type(exc).__name__}: {exc}",))
