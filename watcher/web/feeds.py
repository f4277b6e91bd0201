"""Atom feeds of the change log: ``/feeds/changes.atom`` with the command line's filters as
query parameters (``?column=usgov&kind=status_changed`` is "usgov status changes").

One entry per change set (the changes one check found between two snapshots), newest
first, the latest ``limit`` sets (default 50). Ids are tag URIs made of the source and the
two snapshot ids, so an entry keeps its id across requests, filters and restarts. The
content is plain text (``type="text"``): a reader never renders page text as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

from starlette.requests import Request
from starlette.responses import Response

from watcher.audit.changes import ChangeFilter, change_page, describe_change
from watcher.web import params
from watcher.web.pages import change_sets, read

ATOM = "http://www.w3.org/2005/Atom"
TAG = "tag:azure-mi-watcher,2024:"
EMPTY_UPDATED = "1970-01-01T00:00:00Z"  # a feed with no entry yet: stable, not "now"


def latest_sets(
    session: Any, f: ChangeFilter, count: int
) -> list[tuple[Mapping[str, Any], list[Any]]]:
    """The latest ``count`` change sets the filter keeps, newest first."""
    rows: list[dict[str, Any]] = []
    after: int | None = None
    keys: set[tuple[Any, ...]] = set()
    while True:
        # A check finds a few changes as a rule: four per set is one read, most of the time.
        size = min(500, 4 * count)
        page, after = change_page(session, f, after=after, limit=size, newest_first=True)
        for r in page:
            key = (r["source"], r["from_snapshot"], r["to_snapshot"])
            if key not in keys and len(keys) == count:
                return change_sets(rows)
            keys.add(key)
            rows.append(r)
        if after is None:
            return change_sets(rows)


def entry_id(first: Mapping[str, Any]) -> str:
    source = quote(first["source"], safe="")
    return f"{TAG}changeset/{source}/{first['from_snapshot']}-{first['to_snapshot']}"


def _line(r: Mapping[str, Any]) -> str:
    name = r["entity"] or r["section"] or "(page)"
    return f"{r['severity']}: {name}: {describe_change(r)}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        el.text = text
    return el


def atom(sets: Sequence[tuple[Mapping[str, Any], list[Any]]], *, base: str, query: str) -> bytes:
    """The feed document: ``base`` is the site's URL (``http://host:port``), ``query`` the
    filters' canonical query string (part of the feed's id)."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _sub(feed, "id", f"{TAG}feed/changes?{query}")
    what = f" ({query.replace('&', ', ')})" if query else ""
    _sub(feed, "title", f"watcher: changes{what}")
    _sub(feed, "updated", sets[0][0]["detected_at"] if sets else EMPTY_UPDATED)
    _sub(
        feed, "link", rel="self", href=f"{base}/feeds/changes.atom" + (f"?{query}" if query else "")
    )
    _sub(feed, "link", rel="alternate", href=f"{base}/changes" + (f"?{query}" if query else ""))
    author = _sub(feed, "author")
    _sub(author, "name", "watcher")
    _sub(feed, "generator", "watcher")
    for first, rows in sets:
        entry = _sub(feed, "entry")
        _sub(entry, "id", entry_id(first))
        pair = f"snapshot {first['from_snapshot']} → {first['to_snapshot']}"
        _sub(entry, "title", f"{first['source']}: {len(rows)} change(s), {pair}")
        _sub(entry, "updated", first["detected_at"])
        href = f"{base}/diff?old={first['from_snapshot']}&new={first['to_snapshot']}"
        _sub(entry, "link", rel="alternate", href=href)
        _sub(entry, "summary", _line(rows[0]), type="text")
        _sub(entry, "content", "\n".join(_line(r) for r in rows), type="text")
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def changes_feed(request: Request) -> Response:
    q = request.query_params
    f = params.change_filter(q)
    count = params.limit(q, 50)
    sets = read(request, latest_sets, f, count)
    base = str(request.base_url).rstrip("/")
    body = atom(sets, base=base, query=params.filter_query(q))
    return Response(body, media_type="application/atom+xml; charset=utf-8")
