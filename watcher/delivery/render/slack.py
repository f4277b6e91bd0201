"""Slack Block Kit: groups of change lines become section blocks, packed into messages that
each fit Slack's limits.

Page text goes through ``neutral.mrkdwn`` (``<!channel>`` or ``<@U123>`` on the page shows as
text and pings nobody, ``*bold*`` formats nothing), and every text block is ``verbatim`` so
bare ``@here`` or ``#channel`` words stay words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watcher.delivery.render.message import Group, part_name
from watcher.delivery.render.neutral import mrkdwn
from watcher.domain.describe import Line, clean

# Slack's documented limits, and one that is not documented: a message whose blocks hold more
# than about 13,000 characters is refused with msg_blocks_too_long.
SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000
SLACK_MAX_HEADER = 150
SLACK_MAX_MESSAGE_CHARS = 11_000
SLACK_MAX_FALLBACK = 1500
# Header, context and divider open every message; all but the last close with a context.
FIXED_BLOCKS = 4

SLACK_EMOJI: dict[str, str] = {
    "promotion": ":arrow_up:",
    "regression": ":small_red_triangle_down:",
    "added": ":heavy_plus_sign:",
    "removed": ":heavy_minus_sign:",
    "renamed": ":pencil2:",
    "changed": ":small_blue_diamond:",
    "format": ":rotating_light:",
    "info": ":information_source:",
}


def slack_link(url: str | None, label: str) -> str:
    """A mrkdwn link to an http(s) URL, or just the label."""
    if not url or not url.startswith(("http://", "https://")):
        return mrkdwn(label)
    safe = "".join(
        {"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20", '"': "%22"}.get(c, c) for c in clean(url)
    )
    return f"<{safe}|{mrkdwn(label)}>"


def section(text: str) -> dict[str, Any]:
    # verbatim: Slack must not turn bare words like @here or #channel on the page into
    # mentions or links; the escapes already neutralise the <...> forms.
    return {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clean(text, SLACK_MAX_HEADER), "emoji": True},
    }


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}


def _block_chars(block: dict[str, Any]) -> int:
    text = block.get("text")
    if isinstance(text, dict):
        return len(str(text.get("text", "")))
    return sum(len(str(e.get("text", ""))) for e in block.get("elements", ()))


def _slack_line(line: Line) -> str:
    emoji = SLACK_EMOJI[line.mark]
    if line.old is not None and line.new is not None:
        old, new = mrkdwn(line.old, 700), mrkdwn(line.new, 700)
        text = f"{emoji} {mrkdwn(line.where, 600)}: {old} → *{new}*"
        if line.note:
            text += f" ({mrkdwn(line.note, 700)})"
    else:
        text = f"{emoji} {mrkdwn(line.text, 1500)}"
    for d in line.details:
        # Status words bold, like the new side of a change; cell text quoted.
        values = [
            f"*{mrkdwn(c.value, 400)}*" if c.status is not None else mrkdwn(c.quoted, 400)
            for c in d.cells
        ]
        cells = " · ".join(
            f"{mrkdwn(c.column, 200)}: {v}" if c.column else v
            for c, v in zip(d.cells, values, strict=True)
        )
        text += f"\n    • {mrkdwn(d.row, 200)}: {cells}" if d.row else f"\n    • {cells}"
    if line.more:
        text += f"\n    • … and {line.more} more rows"
    return text


def _fit(text: str) -> str:
    return text if len(text) <= SLACK_MAX_SECTION else text[: SLACK_MAX_SECTION - 1] + "…"


def _group_blocks(g: Group) -> list[dict[str, Any]]:
    """The section blocks of one group, split at line boundaries to stay under 3,000."""
    title = f"*{mrkdwn(g.title, 400)}*"
    texts: list[str] = []
    current = title
    for line in g.lines:
        piece = _fit(_slack_line(line))
        if len(current) + 1 + len(piece) > SLACK_MAX_SECTION:
            texts.append(current)
            current = f"*{mrkdwn(g.title, 400)}* (continued)"
        current += "\n" + piece
    texts.append(current)
    return [section(_fit(t)) for t in texts]


def change_blocks(groups: Sequence[Group]) -> list[dict[str, Any]]:
    """Section blocks for the groups, with a heading wherever the page's section changes
    (only when the change set spans more than one section)."""
    several = len({g.section for g in groups}) > 1
    blocks: list[dict[str, Any]] = []
    current: str | None = None
    for g in groups:
        if several and g.section != current:
            current = g.section
            blocks.append(section(f":bookmark_tabs: _{mrkdwn(current or 'the page', 500)}_"))
        blocks.extend(_group_blocks(g))
    return blocks


def pack(
    blocks: Sequence[dict[str, Any]], fixed_blocks: int = FIXED_BLOCKS
) -> list[list[dict[str, Any]]]:
    """Blocks into messages: under 50 blocks and the total text budget each."""
    room = SLACK_MAX_BLOCKS - fixed_blocks
    messages: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for block in blocks:
        chars = _block_chars(block)
        if current and (len(current) >= room or size + chars > SLACK_MAX_MESSAGE_CHARS):
            messages.append(current)
            current, size = [], 0
        current.append(block)
        size += chars
    if current or not messages:
        messages.append(current)
    return messages


def slack_messages(
    title: str, context: str, blocks: Sequence[dict[str, Any]], fallback: str
) -> tuple[dict[str, Any], ...]:
    """Header, context, divider, the blocks; split into parts that each fit Slack's limits.

    Each part repeats the header (numbered) and the context, so it reads on its own in a
    channel, and carries a plain-text fallback for notifications and old clients.
    """
    parts = pack(blocks)
    out = []
    for i, chunk in enumerate(parts, start=1):
        label = f" (part {i} of {len(parts)})" if len(parts) > 1 else ""
        message_blocks: list[dict[str, Any]] = [
            _header(clean(title, SLACK_MAX_HEADER - len(label)) + label),
            _context(context),
            {"type": "divider"},
            *chunk,
        ]
        if i < len(parts):
            message_blocks.append(_context(f"Continued in part {i + 1} of {len(parts)}."))
        text = mrkdwn(fallback, SLACK_MAX_FALLBACK) + mrkdwn(label)
        out.append(
            {"text": text, "blocks": message_blocks, "unfurl_links": False, "unfurl_media": False}
        )
    return tuple(out)


def slack_part_name(index: int, total: int) -> str:
    """The delivery unit name of one part of a split Slack message."""
    return part_name(index, total)
