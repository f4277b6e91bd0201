"""Page text made inert for each markup a channel speaks: the one place that knows how.

Every renderer puts page text (entity names, section titles, cell text, link text) through
``watcher.domain.describe.clean`` first: one line, no control characters, and no
bidirectional-text controls (an override such as U+202E shows as U+FFFD where it was, so
"gpj.exe" cannot pass for "exe.jpg"). What is left is plain text; this module escapes it
for the markups that would otherwise read it as formatting:

- ``mrkdwn``: Slack. ``&``, ``<`` and ``>`` are Slack's three escapes (so ``<!channel>``
  and ``<url|text>`` are text); Slack has no escape for ``*``, ``_``, ``~`` and ```` ` ````
  (a backslash shows as a backslash and still formats), so they become look-alikes that
  format nothing (``LOOKALIKE``); an underscore inside a word (``format_changed``) stays,
  as it formats nothing there. Bare words like ``@here`` stay words: blocks are verbatim.
  Watcher's own words (a note naming a command) take ``slack_escape``: the three escapes only.
- ``card_markdown``: the Markdown subset of an Adaptive Card TextBlock (Teams): the same
  look-alikes (bold ``**``, italic ``_``), a link's ``](`` and the card's date functions'
  ``{{`` broken by a zero-width space, and a list marker, heading or quote at the start of
  the text shown as text.

Email HTML is escaped by jinja2's autoescape (``render.email``); its plain-text part and
stdout need nothing beyond ``clean``. Cuts happen *after* escaping, never inside an escape.
"""

from __future__ import annotations

import re

# Characters that format in Slack mrkdwn or in a card's Markdown, and what shows instead:
# ASTERISK OPERATOR, MODIFIER LETTER LOW MACRON, TILDE OPERATOR, MODIFIER LETTER GRAVE.
LOOKALIKE = {"*": "∗", "_": "ˍ", "~": "∼", "`": "ˋ"}
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_SLACK = {**_HTML, **LOOKALIKE}

_ZWSP = "\u200b"
# A list item, a heading or a quote opens a TextBlock's Markdown only at its very start.
_BLOCK_START = re.compile(r"^(\s*)([-+#>]|\d+[.)])")


def _intraword(text: str, i: int) -> bool:
    """An underscore between two letters or digits (``value_changed``, ``azure_mi``): neither
    Slack nor CommonMark emphasizes there, and identifiers must copy as they are."""
    return 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()


def _escape(text: str, table: dict[str, str], limit: int | None) -> str:
    if not any(ch in table for ch in text):  # most page text: nothing to escape
        if limit is None or len(text) < limit:
            return text
        return text[: limit - 1] + "…"
    out: list[str] = []
    size = 0
    for i, ch in enumerate(text):
        piece = ch if ch == "_" and _intraword(text, i) else table.get(ch, ch)
        if limit is not None and size + len(piece) > limit - 1:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def mrkdwn(text: str, limit: int | None = None) -> str:
    """Page text for Slack mrkdwn: never a mention, a link, a command or formatting.

    Cut to ``limit`` characters after escaping, never inside an escape.
    """
    return _escape(text, _SLACK, limit)


def slack_escape(text: str, limit: int | None = None) -> str:
    """Watcher's own words for Slack mrkdwn (a source name, a change kind, a command, none of
    them page text): only Slack's three escapes, so ``value_changed`` and
    ``--source azure_mi`` read and copy as they are."""
    return _escape(text, _HTML, limit)


def card_markdown(text: str, limit: int | None = None) -> str:
    """Page text for an Adaptive Card TextBlock: never bold, italic, a link, a list, a
    heading or a date function."""
    text = text.replace("](", "]" + _ZWSP + "(").replace("{{", "{" + _ZWSP + "{")
    text = _BLOCK_START.sub(lambda m: m.group(1) + _ZWSP + m.group(2), text, count=1)
    return _escape(text, LOOKALIKE, limit)
