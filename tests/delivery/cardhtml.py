"""An honest, approximate HTML rendering of the Adaptive Cards in docs/ (not Microsoft's
renderer): TextBlock, Container, Table and Action.OpenUrl as the cards use them, a
TextBlock's Markdown subset (``**bold**``, ``- `` lists) and its colours, in Teams' light
theme. Enough to see the layout in a browser; Teams itself draws the JSON beside it."""

from __future__ import annotations

import html
import re
from typing import Any

_COLOR = {"Good": "#237b4b", "Attention": "#c4314b", "Warning": "#835b00", "Default": "#242424"}
_SIZE = {"Large": "20px", "Medium": "16px"}
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _inline(text: str) -> str:
    return _BOLD.sub(r"<b>\1</b>", html.escape(text))


def _markdown(text: str) -> str:
    lines = text.split("\r")
    if all(line.startswith("- ") for line in lines):
        items = "".join(f"<li>{_inline(ln[2:])}</li>" for ln in lines)
        return f"<ul style='margin:2px 0 2px 18px;padding:0'>{items}</ul>"
    return _inline(text)


def _element(e: dict[str, Any]) -> str:
    kind = e["type"]
    if kind == "TextBlock":
        style = [f"color:{'#616161' if e.get('isSubtle') else _COLOR[e.get('color', 'Default')]}"]
        style.append(f"font-size:{_SIZE.get(e.get('size', ''), '14px')}")
        if e.get("weight") == "Bolder":
            style.append("font-weight:600")
        style.append("margin:0" if e.get("spacing") == "None" else "margin:8px 0 0")
        return f"<div style='{';'.join(style)}'>{_markdown(e['text'])}</div>"
    if kind == "Container":
        border = "border-top:1px solid #e0e0e0;padding-top:8px;" if e.get("separator") else ""
        inner = "".join(_element(i) for i in e["items"])
        return f"<div style='{border}margin-top:8px'>{inner}</div>"
    if kind == "Table":
        rows = []
        for r, row in enumerate(e["rows"]):
            tag = "th" if r == 0 and e.get("firstRowAsHeader") else "td"
            cells = "".join(
                f"<{tag} style='border:1px solid #e0e0e0;padding:4px 6px;text-align:left'>"
                + "".join(_element(i) for i in cell["items"])
                + f"</{tag}>"
                for cell in row["cells"]
            )
            rows.append(f"<tr>{cells}</tr>")
        return f"<table style='border-collapse:collapse;margin-top:8px'>{''.join(rows)}</table>"
    raise ValueError(f"no rendering for a {kind}")


def card_html(envelopes: list[dict[str, Any]]) -> str:
    """Each message's card, one under the other, as a page."""
    cards = []
    for message in envelopes:
        card = message["attachments"][0]["content"]
        body = "".join(_element(e) for e in card["body"])
        for action in card.get("actions", ()):
            body += (
                f"<div style='margin-top:12px'><a href='{html.escape(action['url'])}' "
                "style='display:inline-block;border:1px solid #d1d1d1;border-radius:4px;"
                f"padding:6px 12px;color:#242424;text-decoration:none'>"
                f"{html.escape(action['title'])}</a></div>"
            )
        cards.append(
            "<div style='background:#fff;border:1px solid #e0e0e0;border-radius:6px;"
            f"padding:12px 16px;margin:16px;max-width:900px'>{body}</div>"
        )
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>Teams card (approximate "
        'rendering)</title></head>\n<body style=\'background:#f5f5f5;font-family:"Segoe UI",'
        f"sans-serif;font-size:14px;margin:0'>\n{''.join(cards)}\n</body></html>\n"
    )
