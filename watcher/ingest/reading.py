"""Read one page for ``watcher parse``: from a file or a URL, and flatten its Document to rows;
and read a page file for ``watcher import``, refusing what cannot be a page."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from watcher.domain.document import Document


def read_target(target: str) -> tuple[bytes, str | None]:
    """The body and content type of a file path or an http(s) URL."""
    if target.startswith(("http://", "https://")):
        from watcher.ingest.fetch import FetchError, fetch, make_client

        with make_client() as client:
            result = fetch(client, target)
        if isinstance(result, FetchError):
            raise OSError(result.message)
        return result.body, result.content_type
    path = Path(target)
    content_type = {".md": "text/markdown", ".html": "text/html", ".htm": "text/html"}.get(
        path.suffix.lower()
    )
    return path.read_bytes(), content_type


class NotAPage(ValueError):
    """A file given to import or parse (or a page parse fetched) that is empty, binary or
    over the size cap; names it."""


# A UTF-16 page is full of NUL bytes; a byte order mark says it is text all the same.
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def read_page_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of a page file, refusing an empty, binary or oversized one before anything
    is stored. ``max_bytes`` is the fetch's cap: a file the fetch would refuse is refused."""
    size = path.stat().st_size
    if size > max_bytes:
        raise NotAPage(f"{path}: {size} bytes is over the {max_bytes}-byte cap (max_bytes)")
    return refuse_no_page(str(path), path.read_bytes())


def refuse_no_page(where: str, body: bytes, what: str = "file") -> bytes:
    """``body``, unless it is empty (a byte order mark and blanks are empty too) or binary
    (NotAPage, naming ``where``, a file or a page): what import and ``watcher parse`` refuse
    rather than read as a page that lists nothing."""
    if not body.removeprefix(b"\xef\xbb\xbf").strip():
        raise NotAPage(f"{where}: the {what} is empty")
    if b"\0" in body[:8192] and not body.startswith(_TEXT_BOMS):
        raise NotAPage(f"{where}: not a page: the {what} holds binary data")
    return body


def record_rows(doc: Document) -> list[dict[str, Any]]:
    return [
        {
            "section": r.section,
            "entity": r.entity,
            "row": r.row_key,
            "column": r.column_key,
            "raw": r.raw,
            "status": r.status,
            "row_label": r.row,
            "column_label": r.column,
            "parts": [list(p) for p in r.parts],
            "links": list(r.links),
        }
        for r in doc.records
    ]


def diagnostics_rows(doc: Document) -> list[dict[str, Any]]:
    """Counts per status, each unknown value with its count, and the parser's warnings."""
    rows: list[dict[str, Any]] = [
        {"kind": "summary", "value": "records", "count": len(doc.records)},
        {"kind": "summary", "value": "tables", "count": doc.tables},
        {"kind": "summary", "value": "entities", "count": len(doc.entities())},
    ]
    counts = doc.status_counts()
    for status, count in sorted(counts.items()):
        rows.append({"kind": "status", "value": status, "count": count})
    # Cells that hold text, not a status (documentation links, Resource IDs): with the
    # statuses, they add up to the records.
    text = len(doc.records) - sum(counts.values())
    if text:
        rows.append({"kind": "status", "value": "(text, no status)", "count": text})
    unknown = Counter(r.raw for r in doc.records if r.status == "unknown")
    for value, count in unknown.most_common():
        rows.append({"kind": "unknown", "value": value, "count": count})
    for warning in doc.warnings:
        rows.append({"kind": "warning", "value": warning, "count": 1})
    return rows
