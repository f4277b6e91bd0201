"""Markdown input: the front matter, and rendering to HTML with cmarkgfm (GitHub's GFM engine).

GFM reads tables strictly: a delimiter row with another number of cells than its header
turns the whole table into a paragraph, and cells beyond the header's count vanish.
The page has both (the 2018 revision), so a light pre-scan of the table lines reports
ragged rows and rewrites a mismatched delimiter row to the header's width before
rendering, so that no table the author meant is lost and no cell is lost unreported.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import re
from dataclasses import dataclass

from cmarkgfm import _cmark, cmark
from cmarkgfm.cmark import Options

_ffi, _lib = _cmark.ffi, _cmark.lib

# UNSAFE keeps raw HTML such as <br> in cells; without it cmark replaces it by a comment.
_OPTIONS = Options.CMARK_OPT_UNSAFE
# Only tables: autolink and strikethrough change no cell's text and cost a tenth of the
# render time.
_EXTENSIONS = ["table"]

_DELIMITER = re.compile(r" {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*")
# Lines that open another block and so end a table (GFM spec, "Tables (extension)").
_BLOCK_START = re.compile(r" {0,3}(#{1,6}(\s|$)|>|[-*+]\s|\d{1,9}[.)]\s|```|~~~)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_MMDDYYYY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_BLOCK_SCALAR = frozenset({">", ">-", ">+", "|", "|-", "|+"})


@dataclass(frozen=True, slots=True)
class FrontMatter:
    title: str | None
    ms_date: str | None
    body: int  # offset of the markdown after the front matter
    body_line: int  # its line number
    warnings: tuple[str, ...]
    service: str | None = None  # ms.service: which documentation set the page belongs to


def iso_date(value: str) -> str | None:
    """``01/28/2021`` (the page's ms.date) or ``2021-01-28`` → ``2021-01-28``; else None."""
    value = value.strip()
    try:
        if m := _MMDDYYYY.fullmatch(value):
            return dt.date(int(m[3]), int(m[1]), int(m[2])).isoformat()
        if m := _ISO.match(value):
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None
    return None


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value.strip()


def _values(lines: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    i = 0
    while i < len(lines):
        key, sep, value = lines[i].partition(":")
        i += 1
        if not sep or key[:1].isspace() or key.startswith("#"):
            continue
        value = value.strip()
        if value in _BLOCK_SCALAR:
            folded: list[str] = []
            while i < len(lines) and (lines[i][:1].isspace() or not lines[i].strip()):
                folded.append(lines[i].strip())
                i += 1
            value = " ".join(f for f in folded if f)
        values[key.strip().lower()] = _unquote(value)
    return values


def front_matter(text: str) -> FrontMatter:
    """``title`` and ``ms.date`` of a YAML-ish ``---`` block at the top, if any.

    Not a YAML parser on purpose: the page's front matter is flat ``key: value`` lines, and
    a stray line in it must not cost the whole page.
    """
    first, _, _ = text.partition("\n")
    if first.strip() != "---":
        return FrontMatter(None, None, 0, 1, ())
    end = _FRONT_MATTER_END.search(text, len(first) + 1)
    if end is None:
        return FrontMatter(None, None, 0, 1, ("front matter is not closed: read as markdown",))
    values = _values(text[len(first) + 1 : end.start()].split("\n"))
    body = min(end.end() + 1, len(text))
    warnings: list[str] = []
    raw_date = values.get("ms.date")
    ms_date = iso_date(raw_date) if raw_date else None
    if raw_date and ms_date is None:
        warnings.append(f"ms.date {raw_date!r} is not a MM/DD/YYYY date: ignored")
    line = text.count("\n", 0, body) + 1
    return FrontMatter(
        values.get("title") or None,
        ms_date,
        body,
        line,
        tuple(warnings),
        values.get("ms.service") or None,
    )


def _cells(line: str) -> int:
    s = line.strip()
    n = s.count("|") - s.count("\\|") + 1
    if s.startswith("|"):
        n -= 1
    if len(s) > 1 and s.endswith("|") and not s.endswith("\\|"):
        n -= 1
    return n


def _delimiter(line: str, width: int) -> str:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    cells = (cells + ["---"] * width)[:width]
    return "| " + " | ".join(cells) + " |"


def _fenced(lines: list[str]) -> set[int]:
    """Indexes of the lines in fenced code blocks, fences included."""
    inside: set[int] = set()
    opened: str | None = None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if m and (opened is None or m[1][0] == opened):
            opened = None if opened else m[1][0]
            inside.add(i)
        elif opened:
            inside.add(i)
    return inside


def normalize_tables(text: str, first_line: int = 1) -> tuple[str, list[str]]:
    """The text with each table's delimiter row at its header's width, and a warning per
    row whose cell count differs from its header's (``first_line`` numbers the first line).

    Only lines with a pipe are looked at: the page is mostly prose.
    """
    if "|" not in text:
        return text, []
    lines = text.split("\n")
    fenced = _fenced(lines) if ("```" in text or "~~~" in text) else set()
    warnings: list[str] = []
    edited = False
    size = len(lines)
    done = -1  # the last line of the last table read
    for i in [i for i, line in enumerate(lines) if "|" in line]:
        if i <= done or i + 1 >= size or i in fenced:
            continue
        delimiter = lines[i + 1]
        if "-" not in delimiter or not _DELIMITER.fullmatch(delimiter):
            continue
        width = _cells(lines[i])
        if "|" in delimiter and _cells(delimiter) != width:
            warnings.append(
                f"line {first_line + i + 1}: delimiter row has {_cells(delimiter)} cells, "
                f"header has {width}: read as {width} columns"
            )
            lines[i + 1] = _delimiter(delimiter, width)
            edited = True
        row = i + 2
        while row < size:
            line = lines[row].strip()
            # A row starting with a pipe opens no other block: skip the regex for those.
            if not line or (line[0] != "|" and _BLOCK_START.match(lines[row])):
                break
            count = line.count("|") + 1 - (line[0] == "|") - (len(line) > 1 and line[-1] == "|")
            if "\\" in line:
                count = _cells(line)
            if count != width:
                what = "extra cells ignored" if count > width else "missing cells read as empty"
                warnings.append(
                    f"line {first_line + row}: {count} cells, header has {width}: {what}"
                )
            row += 1
        done = row - 1
    return ("\n".join(lines) if edited else text), warnings


def _address(pointer: object) -> int:
    return int(_ffi.cast("uintptr_t", pointer))


# cmarkgfm's markdown_to_html_with_extensions never frees the document tree nor the HTML it
# renders (theacodes/cmarkgfm#53): about 0.6 MB lost per page, which a daemon or a history
# replay would pile up without end. Its cffi module exposes neither cmark_node_free nor free,
# so the same loaded library is reached through ctypes for those two calls; cmark allocates
# with the C library's allocator, so the C library's free releases the HTML.
_CMARK = ctypes.CDLL(_cmark.__file__)
_CMARK.cmark_node_free.argtypes = [ctypes.c_void_p]
_CMARK.cmark_node_free.restype = None
_FREE = ctypes.CDLL(None).free
_FREE.argtypes = [ctypes.c_void_p]
_FREE.restype = None


def render(text: str) -> str:
    """GFM HTML of markdown text (tables on, raw HTML kept)."""
    cmark.core_extensions_ensure_registered()
    parser = cmark.parser_new(options=_OPTIONS)
    try:
        for name in _EXTENSIONS:
            cmark.parser_attach_syntax_extension(parser, cmark.find_syntax_extension(name))
        cmark.parser_feed(parser, text)
        root = cmark.parser_finish(parser)
        try:
            html = _lib.cmark_render_html(
                root, _OPTIONS, cmark.parser_get_syntax_extensions(parser)
            )
            try:
                return str(_ffi.string(html).decode("utf-8"))
            finally:
                _FREE(_address(html))
        finally:
            _CMARK.cmark_node_free(_address(root))
    finally:
        cmark.parser_free(parser)


@dataclass(frozen=True, slots=True)
class Rendered:
    html: str
    title: str | None
    ms_date: str | None
    warnings: tuple[str, ...]
    service: str | None = None


def to_html(text: str) -> Rendered:
    """The article HTML of a markdown page, with its front matter and pre-scan warnings."""
    if "\r" in text:
        # cmark's line ends, so that line numbers in warnings are the editor's.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta = front_matter(text)
    body, warnings = normalize_tables(text[meta.body :], meta.body_line)
    return Rendered(
        render(body), meta.title, meta.ms_date, meta.warnings + tuple(warnings), meta.service
    )
