"""The markdown front end: front matter, the table pre-scan, format detection, decoding."""

from __future__ import annotations

import pytest

from watcher.parse import detect, parse
from watcher.parse.markdown import front_matter, iso_date, normalize_tables

TABLE = (
    "### Svc\n\n| Managed identity type | Azure Government |\n|---|---|\n"
    "| System assigned | Preview |\n"
)


@pytest.mark.parametrize(
    ("front", "title", "ms_date"),
    [
        ("---\ntitle: Plain\nms.date: 01/28/2021\n---\n", "Plain", "2021-01-28"),
        ("---\ntitle: \"Quoted: yes\"\nms.date: '6/9/2019'\n---\n", "Quoted: yes", "2019-06-09"),
        ("---\nMS.DATE: 2025-05-09\n---\n", None, "2025-05-09"),
        ("---\ndescription: x\n\n#Customer intent: a comment\n---\n", None, None),
        (
            "---\ntitle: >-\n  Folded\n  title\nms.date: 11/09/2021\n---\n",
            "Folded title",
            "2021-11-09",
        ),
        ("", None, None),
    ],
)
def test_front_matter(front: str, title: str | None, ms_date: str | None) -> None:
    doc = parse((front + TABLE).encode(), "markdown")
    assert (doc.title, doc.ms_date) == (title, ms_date)
    assert len(doc.records) == 1  # the front matter never turns into a heading or a table


def test_front_matter_is_not_a_setext_heading() -> None:
    # Unstripped, "key: value\n---" would render as an H2 and become a section.
    doc = parse(("---\nms.collection: M365\n---\n" + TABLE).encode(), "markdown")
    assert doc.records[0].section == ""


def test_unclosed_front_matter_and_bad_date_are_warnings() -> None:
    meta = front_matter("---\ntitle: x\n")
    assert (meta.title, meta.body, meta.warnings) == (
        None,
        0,
        ("front matter is not closed: read as markdown",),
    )
    doc = parse(("---\nms.date: 31/01/2021\n---\n" + TABLE).encode(), "markdown")
    assert doc.ms_date is None
    assert doc.warnings == ("ms.date '31/01/2021' is not a MM/DD/YYYY date: ignored",)


def test_iso_date() -> None:
    assert iso_date("01/28/2021") == "2021-01-28"
    assert iso_date(" 2021-01-28T00:00:00Z ") == "2021-01-28"
    assert iso_date("02/30/2021") is None
    assert iso_date("soon") is None


def test_title_falls_back_to_the_h1() -> None:
    doc = parse(("# The page\n\n" + TABLE).encode(), "markdown")
    assert doc.title == "The page"


def test_prescan_rewrites_only_mismatched_delimiters() -> None:
    lines = ["a | b", "|---|---|---|", "| 1 | 2 |", "", "| c |", "|:-:|", "| 3 |"]
    out, warnings = normalize_tables("\n".join(lines), 10)
    assert out.split("\n")[1] == "| --- | --- |"
    assert out.split("\n")[4:] == lines[4:]
    assert warnings == ["line 11: delimiter row has 3 cells, header has 2: read as 2 columns"]


def test_prescan_ignores_code_fences_and_stops_at_blocks() -> None:
    text = "```\n| a | b |\n|---|\n```\n| a | b |\n|---|---|\n| 1 |\n- list | x | y"
    out, warnings = normalize_tables(text, 1)
    assert out == text
    assert warnings == ["line 7: 1 cells, header has 2: missing cells read as empty"]


def test_escaped_pipes_are_not_cell_separators() -> None:
    text = "| a | b |\n|---|---|\n| x \\| y | z |\n"
    doc = parse(text.encode(), "markdown")
    assert doc.warnings == ()
    assert [r.raw for r in doc.records] == ["z"]
    assert [r.entity for r in doc.records] == ["x | y"]


def test_reference_images_resolve_case_insensitively() -> None:
    text = TABLE.replace("Preview", "![Available][Check]") + '\n[check]: check.png "Available"\n'
    assert [(r.raw, r.status) for r in parse(text.encode(), "markdown").records] == [
        ("Available", "available")
    ]


@pytest.mark.parametrize(
    ("text", "content_type", "fmt"),
    [
        ("---\ntitle: x\n---\n", None, "markdown"),
        ("| a |\n|---|\n", None, "markdown"),
        ("<!DOCTYPE html><html></html>", None, "html"),
        ("  <html lang=en>", None, "html"),
        ("<div><table><tr><td>x</td></tr></table></div>", None, "html"),
        ("just words", None, "markdown"),
        ("<html>", "text/markdown; charset=utf-8", "markdown"),
        ("<html>", "text/plain", "markdown"),
        ("---\n", "text/html", "html"),
        ("---\n", "application/octet-stream", "markdown"),
    ],
)
def test_detect(text: str, content_type: str | None, fmt: str) -> None:
    assert detect(text, content_type) == fmt


def test_invalid_utf8_is_read_with_a_warning() -> None:
    doc = parse(TABLE.encode() + b"\n\xff\xfe\xfa", "markdown")
    assert len(doc.records) == 1
    assert doc.warnings == ("page is not valid UTF-8: undecodable bytes read as U+FFFD",)


def test_declared_charset_and_boms_are_honoured() -> None:
    latin = TABLE.replace("Svc", "Café").encode("latin-1")
    doc = parse(latin, "markdown", "text/plain; charset=ISO-8859-1")
    assert doc.records[0].entity == "Café" and doc.warnings == ()
    for encoded in (b"\xef\xbb\xbf" + TABLE.encode(), TABLE.encode("utf-16")):
        assert len(parse(encoded, "markdown").records) == 1


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00\x01\x02", b"\xff" * 10])
def test_unreadable_pages_give_no_records_and_a_warning(body: bytes) -> None:
    doc = parse(body)
    assert doc.records == ()
    assert doc.warnings


def test_unknown_format_is_a_warning_not_an_exception() -> None:
    doc = parse(TABLE.encode(), "pdf")  # type: ignore[arg-type]
    assert doc.records == () and doc.warnings == ("unknown format 'pdf': nothing read",)
