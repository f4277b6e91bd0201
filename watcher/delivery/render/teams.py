"""Microsoft Teams: Adaptive Cards 1.5 in the message envelope a Teams Workflows webhook takes
("When a Teams webhook request is received"), split into parts that each stay under the
~28 KB a Workflows flow accepts.

A change card opens with a header (the source and the counts) and a line saying which page,
which snapshots and when; then, per entity, its changes with their mark (▲ promoted in
green, ▼ regressed in red, as Slack's), the cells of an added or removed entity as a
``Table`` when its rows share their columns, and an ``Action.OpenUrl`` to the page. Page text
goes through ``neutral.card_markdown``: a TextBlock's Markdown subset formats none of it.

Parts are numbered like Slack's, with the same delivery-unit names (``message.part_name``),
so a retry posts only the parts Teams did not accept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from watcher.delivery.render.message import MARK_WORD, TEXT_MARK, Group
from watcher.delivery.render.neutral import card_markdown
from watcher.domain.describe import Line

CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# A Workflows flow refuses a request over about 28 KB; a part's cards stay well under, with
# room for the header, the context and the closing note each part repeats.
TEAMS_MAX_BYTES = 28 * 1024
PART_BUDGET = 22_000

_COLOR = {"promotion": "Good", "regression": "Attention", "format": "Warning"}


def card_bytes(envelope: dict[str, Any]) -> bytes:
    """The body posted for one part: compact UTF-8 JSON, the size the budget counts."""
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _size(element: dict[str, Any]) -> int:
    return len(card_bytes(element))


def text(value: str, **style: Any) -> dict[str, Any]:
    """A wrapping TextBlock; ``value`` is Markdown already (page text escaped by the caller)."""
    return {"type": "TextBlock", "text": value, "wrap": True, **style}


def _cell(value: str, **style: Any) -> dict[str, Any]:
    set_style = {k: v for k, v in style.items() if v is not None}
    return {"type": "TableCell", "items": [text(card_markdown(value, 400), **set_style)]}


def _table(line: Line, columns: Sequence[str]) -> dict[str, Any]:
    """The rows of an added or removed entity under their shared column names."""
    labelled = any(d.row for d in line.details)
    head = ([""] if labelled else []) + list(columns)
    rows = [
        {"type": "TableRow", "cells": [_cell(h, weight="Bolder") for h in head]},
        *(
            {
                "type": "TableRow",
                "cells": ([_cell(d.row)] if labelled else []) + [_cell(c.value) for c in d.cells],
            }
            for d in line.details
        ),
    ]
    return {
        "type": "Table",
        "firstRowAsHeader": True,
        "showGridLines": True,
        "columns": [{"width": 1} for _ in head],
        "rows": rows,
    }


def _line(line: Line) -> list[dict[str, Any]]:
    """One change: its mark and words, then the cells it concerns."""
    mark = f"{TEXT_MARK[line.mark]} {MARK_WORD[line.mark]}"
    if line.old is not None and line.new is not None:
        old, new = card_markdown(line.old, 700), card_markdown(line.new, 700)
        note = f" ({card_markdown(line.note, 700)})" if line.note else ""
        words: str | None = f"{card_markdown(line.where, 600)}: {old} → **{new}**{note}"
    else:
        words = card_markdown(line.text, 1500) if line.headline or not line.details else None
    out = [text(f"{mark}: {words}" if words else mark, color=_COLOR.get(line.mark, "Default"))]
    columns = line.grid
    if columns is not None:
        out.append(_table(line, columns))
    elif line.details:
        listed = "\r".join(f"- {card_markdown(d.text(), 600)}" for d in line.details)
        out.append(text(listed, spacing="None"))
    if line.more:
        out.append(text(f"… and {line.more} more rows", isSubtle=True, spacing="None"))
    return out


# An entity with this many cell changes shows them as a table: where, before, after.
TABLE_FROM = 3
_TABLE_ROWS = 12  # rows of one such table; more make another


def _changes_table(lines: Sequence[Line]) -> dict[str, Any]:
    """Cell changes as rows of mark, place, old value and new value."""
    head = {"type": "TableRow", "cells": [_cell(h, weight="Bolder") for h in _CHANGE_HEAD]}
    rows = [
        {
            "type": "TableRow",
            "cells": [
                _cell(f"{TEXT_MARK[ln.mark]} {MARK_WORD[ln.mark]}", color=_COLOR.get(ln.mark)),
                _cell(ln.where),
                _cell(ln.old or ""),
                _cell(f"{ln.new or ''} ({ln.note})" if ln.note else ln.new or "", weight="Bolder"),
            ],
        }
        for ln in lines
    ]
    return {
        "type": "Table",
        "firstRowAsHeader": True,
        "showGridLines": True,
        "columns": [{"width": w} for w in (2, 4, 3, 3)],
        "rows": [head, *rows],
    }


_CHANGE_HEAD = ("", "Where", "Before", "After")


def _group_elements(g: Group) -> list[list[dict[str, Any]]]:
    """Each line's elements; an entity's many cell changes as tables instead."""
    cells = [ln for ln in g.lines if ln.old is not None and ln.new is not None]
    if len(cells) < TABLE_FROM:
        return [_line(ln) for ln in g.lines]
    tabled = {id(ln) for ln in cells}
    rest = [_line(ln) for ln in g.lines if id(ln) not in tabled]
    tables = [
        [_changes_table(cells[i : i + _TABLE_ROWS])] for i in range(0, len(cells), _TABLE_ROWS)
    ]
    return tables + rest


def _containers(g: Group, heading: str | None) -> list[dict[str, Any]]:
    """The containers of one group, split at line boundaries to fit a part."""
    title = f"**{card_markdown(g.title, 400)}**"
    lead = [text(heading, size="Medium", weight="Bolder")] if heading else []
    out: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = [text(title)]
    size = _size(items[0])
    for elements in _group_elements(g):
        grows = sum(_size(e) for e in elements)
        if len(items) > 1 and size + grows > PART_BUDGET // 2:
            out.append({"type": "Container", "separator": True, "items": items})
            items = [text(f"{title} (continued)")]
            size = _size(items[0])
        items += elements
        size += grows
    out.append({"type": "Container", "separator": True, "items": items})
    out[0]["items"] = lead + out[0]["items"]
    return out


def change_elements(groups: Sequence[Group]) -> list[dict[str, Any]]:
    """Containers for the groups, with a heading where the page's section changes (only
    when the change set spans more than one section)."""
    several = len({g.section for g in groups}) > 1
    out: list[dict[str, Any]] = []
    current: str | None = None
    for g in groups:
        heading = None
        if several and g.section != current:
            current = g.section
            heading = card_markdown(current or "the page", 500)
        out += _containers(g, heading)
    return out


def _pack(elements: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    parts: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for element in elements:
        grows = _size(element)
        if current and size + grows > PART_BUDGET:
            parts.append(current)
            current, size = [], 0
        current.append(element)
        size += grows
    if current or not parts:
        parts.append(current)
    return parts


def envelope(body: list[dict[str, Any]], url: str | None) -> dict[str, Any]:
    """One Adaptive Card in the message envelope a Workflows webhook takes."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "msteams": {"width": "Full"},
        "body": body,
    }
    if url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the page", "url": url}]
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}],
    }


def teams_messages(
    title: str, context: str, elements: Sequence[dict[str, Any]], url: str | None
) -> tuple[dict[str, Any], ...]:
    """Header, context, the elements; split into parts that each fit a Workflows request.

    ``title`` and ``context`` are Markdown already. Each part repeats them (numbered), so it
    reads on its own in a channel, and all but the last say where the rest is.
    """
    parts = _pack(elements)
    out = []
    for i, chunk in enumerate(parts, start=1):
        label = f" (part {i} of {len(parts)})" if len(parts) > 1 else ""
        body = [
            text(title + label, size="Large", weight="Bolder"),
            text(context, isSubtle=True, spacing="None"),
            *chunk,
        ]
        if i < len(parts):
            body.append(text(f"Continued in part {i + 1} of {len(parts)}.", isSubtle=True))
        out.append(envelope(body, url))
    return tuple(out)
