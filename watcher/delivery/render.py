"""Pure rendering: a change set (or an ops notice) becomes the words every channel sends.

One ``Message`` carries all the renderings of one notification: Slack Block Kit payloads
(already split to fit Slack's limits), an email subject, a plain-text body and an HTML body
(jinja2, autoescaped). Nothing here does I/O, reads the clock or the environment: the same
inputs always give the same message, which is what lets a retry resend exactly the parts a
channel did not confirm.

Page text is untrusted. Everything taken from a page goes through ``clean`` (no control
characters, no lone surrogates from badly encoded bytes, no CR/LF that could reach a mail
header) and, for Slack, through ``mrkdwn`` (``&``, ``<`` and ``>`` escaped, so ``<!channel>``
or ``<@U123>`` on the page shows as text and pings nobody).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from watcher.domain.document import IDENTITY_COLUMN, STATUS_RANK, Change, Record

if TYPE_CHECKING:
    from jinja2 import Environment

# Slack's documented limits, and one that is not documented: a message whose blocks hold more
# than about 13,000 characters is refused with msg_blocks_too_long.
SLACK_MAX_BLOCKS = 50
SLACK_MAX_SECTION = 3000
SLACK_MAX_HEADER = 150
SLACK_MAX_MESSAGE_CHARS = 11_000
SLACK_MAX_FALLBACK = 1500
# How much of one page value a message quotes; the rest is in `watcher changes`.
MAX_VALUE = 300
MAX_NAME = 200
MAX_DETAIL_ROWS = 6  # rows listed under an added or removed entity
# A change set that would take more Slack messages than this is summarized: counts per
# kind, its first entities (a few lines each), and the command that lists all of it.
MAX_PARTS = 3
SUMMARY_GROUPS = 10
SUMMARY_LINES = 5

STATUS_LABEL = {
    "available": "Available",
    "preview": "Preview",
    "not_available": "Not available",
    "mixed": "Mixed",
    "unknown": "Unknown",
}

Mark = Literal[
    "promotion", "regression", "added", "removed", "renamed", "changed", "format", "info"
]

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
TEXT_MARK: dict[str, str] = {
    "promotion": "▲",
    "regression": "▼",
    "added": "+",
    "removed": "−",
    "renamed": "~",
    "changed": "•",
    "format": "!",
    "info": "•",
}
MARK_WORD: dict[str, str] = {
    "promotion": "promoted",
    "regression": "regressed",
    "added": "added",
    "removed": "removed",
    "renamed": "renamed",
    "changed": "changed",
    "format": "format",
    "info": "info",
}


# --- the message ------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """Every rendering of one notification.

    ``key`` is the notification's idempotency key: email uses it for a stable Message-ID, so
    that a resend after a crash is recognised by mail clients as the same message.
    ``delivered`` is what earlier attempts achieved per delivery unit (recipients, message
    parts), from the outbox; the dispatcher fills it in before a retry.
    """

    key: str
    subject: str
    text: str
    html: str
    slack: tuple[dict[str, Any], ...]
    delivered: Mapping[str, str] = field(default_factory=dict)

    def finished(self, unit: str) -> bool:
        """True when an earlier attempt settled this unit: sent, or refused for good."""
        state = self.delivered.get(unit, "")
        return state == "sent" or state.startswith("refused")


@dataclass(frozen=True)
class ChangeSet:
    """One route's view of the changes between two snapshots, and where they came from."""

    source: str
    route: str
    to_snapshot: int
    taken_at: datetime
    changes: tuple[Change, ...]
    from_snapshot: int | None = None
    previous_taken_at: datetime | None = None
    page_url: str | None = None
    page_title: str | None = None
    doc_date: str | None = None
    total: int | None = None  # changes in the whole set, before the route's filters


@dataclass(frozen=True)
class Cell:
    column: str
    value: str  # a status word, or the cell's text when it is not a status cell
    status: str | None

    @property
    def quoted(self) -> str:
        return self.value if self.status is not None else f"“{self.value}”"


@dataclass(frozen=True)
class Detail:
    """One row of an added or removed entity: what its cells say."""

    row: str
    cells: tuple[Cell, ...]

    def text(self) -> str:
        cells = " · ".join(f"{c.column}: {c.quoted}" if c.column else c.quoted for c in self.cells)
        return f"{self.row}: {cells}" if self.row else cells


@dataclass(frozen=True)
class Line:
    mark: Mark
    text: str  # clean plain text; channels escape it their own way
    where: str = ""  # the row and column of a cell change
    old: str | None = None  # the two sides of a cell change
    new: str | None = None
    old_status: str | None = None
    new_status: str | None = None
    details: tuple[Detail, ...] = ()
    more: int = 0  # detail rows left out
    # False when the text only repeats the mark ("new on the page" beside "added"), so a
    # layout that shows the mark and the details can leave it out.
    headline: bool = True
    # A whole section added or removed: one line per entity it held, for the channels
    # that can list them all (email); chat shows the counts in ``text`` only.
    listing: tuple[str, ...] = ()

    @property
    def grid(self) -> tuple[str, ...] | None:
        """The shared column labels when every detail row has the same columns (a table)."""
        if not self.details:
            return None
        columns = tuple(c.column for c in self.details[0].cells)
        same = all(tuple(c.column for c in d.cells) == columns for d in self.details)
        return columns if same and all(columns) else None


@dataclass(frozen=True)
class Group:
    """The changes of one entity (or of a whole section or column), in page order."""

    title: str
    section: str
    lines: tuple[Line, ...] = field(default=())


# --- cleaning page text -----------------------------------------------------------------

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r"[ \t]{2,}")


def clean(text: str | None, limit: int | None = None, *, br: str = "; ") -> str:
    """One line of safe text: no control characters (CR/LF included), no lone surrogates.

    Bytes that were not UTF-8 reach here as surrogate escapes; they become U+FFFD so the
    text can be encoded for JSON, mail and the terminal. ``<br>`` separators of a cell
    become ``br``. Over ``limit`` characters, the text is cut with an ellipsis.
    """
    if not text:
        return ""
    if limit is not None:
        # Page text can be huge; what survives the cut is at most `limit` characters, and
        # collapsing whitespace shrinks text by far less than this margin in practice.
        text = text[: limit * 4 + 64]
    text = _SURROGATE.sub("\ufffd", text)
    text = _BR.sub(br, text)
    text = _CONTROL.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def mrkdwn(text: str, limit: int | None = None) -> str:
    """Slack's three escapes, so page text can never become a mention, a link or a command.

    Cut to ``limit`` characters *after* escaping, never inside an escape.
    """
    out: list[str] = []
    size = 0
    for ch in text:
        piece = _ESCAPES.get(ch, ch)
        if limit is not None and size + len(piece) > limit - 1:
            out.append("…")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def slack_link(url: str | None, label: str) -> str:
    """A mrkdwn link to an http(s) URL, or just the label."""
    if not url or not url.startswith(("http://", "https://")):
        return mrkdwn(label)
    safe = "".join(
        {"|": "%7C", "<": "%3C", ">": "%3E", " ": "%20", '"': "%22"}.get(c, c) for c in clean(url)
    )
    return f"<{safe}|{mrkdwn(label)}>"


def when(moment: datetime | None) -> str:
    if moment is None:
        return "unknown time"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def web_url(url: str | None) -> str | None:
    return url if url and url.startswith(("http://", "https://")) else None


# --- describing changes -----------------------------------------------------------------


def _value(status: str | None, raw: str | None) -> str:
    if status is None:
        return f"“{clean(raw, MAX_VALUE)}”" if raw else "(empty)"
    label = STATUS_LABEL.get(status, status)
    if status in ("mixed", "unknown") and raw:
        return f"{label} ({clean(raw, MAX_VALUE)})"
    return label


def _label(text: str | None) -> str:
    return clean(text, MAX_NAME, br=" ")


def _where(c: Change) -> str:
    # An identity type is the whole place of a capability: "User assigned", not "User
    # assigned · Identity types(s)".
    column = "" if c.column == IDENTITY_COLUMN else c.column_label
    parts = [_label(p) for p in (c.row_label, column) if p]
    if not parts:
        parts = [p for p in (c.row, c.column) if p]
    return " · ".join(parts)


def _status_mark(c: Change) -> Mark:
    old = STATUS_RANK.get(c.old_status or "")
    new = STATUS_RANK.get(c.new_status or "")
    if old is not None and new is not None:
        return "promotion" if new > old else "regression"
    return "regression" if c.severity == "warning" else "changed"


def _details(cells: Sequence[Record]) -> tuple[tuple[Detail, ...], int]:
    """The cells of an entity, one Detail per row, at most MAX_DETAIL_ROWS of them."""
    rows: dict[str, list[Cell]] = {}
    for r in cells:
        value = _value(r.status, r.raw) if r.status is not None else clean(r.raw, MAX_VALUE)
        rows.setdefault(_label(r.row), []).append(Cell(_label(r.column), value, r.status))
    details = tuple(Detail(row, tuple(cs)) for row, cs in rows.items())
    return details[:MAX_DETAIL_ROWS], max(0, len(details) - MAX_DETAIL_ROWS)


def describe(c: Change) -> Line:
    """One change as a line a person reads, with its mark (promotion, regression, ...)."""
    where = _where(c)
    details, more = _details(c.cells)
    if c.kind == "status_changed":
        old = _value(c.old_status, c.old_raw)
        new = _value(c.new_status, c.new_raw)
        return Line(
            _status_mark(c),
            f"{where}: {old} → {new}",
            where=where,
            old=old,
            new=new,
            old_status=c.old_status,
            new_status=c.new_status,
        )
    if c.kind == "value_changed":
        old = f"“{clean(c.old_raw, MAX_VALUE)}”"
        new = f"“{clean(c.new_raw, MAX_VALUE)}”"
        return Line("changed", f"{where}: {old} → {new}", where=where, old=old, new=new)
    if c.kind == "link_changed":
        old = clean(", ".join(c.old_links) or "(no link)", MAX_VALUE)
        new = clean(", ".join(c.new_links) or "(no link)", MAX_VALUE)
        return Line(
            "changed", f"{where} link: {old} → {new}", where=f"{where} link", old=old, new=new
        )
    if c.kind == "entity_added":
        return Line("added", "new on the page", details=details, more=more, headline=False)
    if c.kind == "entity_removed":
        return Line("removed", "removed from the page", details=details, more=more, headline=False)
    if c.kind == "entity_renamed":
        return Line("renamed", f"renamed from “{clean(c.old_entity, MAX_NAME)}”")
    if c.kind == "entity_moved":
        what = "moved from section" if c.entity else "section renamed from"
        return Line("renamed", f"{what} “{clean(c.old_section, MAX_NAME)}”")
    if c.kind in ("attribute_added", "attribute_removed"):
        added = c.kind == "attribute_added"
        label = where or "a row or column"
        raw, status = (c.new_raw, c.new_status) if added else (c.old_raw, c.old_status)
        value = f": {_value(status, raw)}" if raw is not None else ""
        verb = "added" if added else "removed"
        mark: Mark = "added" if added else "removed"
        return Line(mark, f"{label} {verb}{value}", details=details, more=more)
    if c.kind in ("section_added", "section_removed"):
        return _section_line(c)
    if c.kind == "format_changed":
        return Line(
            "format",
            f"page format changed: {clean(c.old_raw, MAX_VALUE)} → {clean(c.new_raw, MAX_VALUE)}",
        )
    return Line("info", clean(c.kind.replace("_", " ")))


def _identity_types(cells: Sequence[Record]) -> str:
    """What an entity's identity-types records say, in a few words."""
    unknown = [r for r in cells if r.status == "unknown"]
    if unknown:
        raw = unknown[0].raw
        return (
            f"identity types unreadable: “{clean(raw, MAX_VALUE)}”"
            if raw
            else "no identity types given (an empty cell)"
        )
    listed = [
        _label(r.row) + (" (preview)" if r.status == "preview" else "")
        for r in cells
        if r.status in ("available", "preview")
    ]
    return ", ".join(listed) or "no identity types"


def _section_line(c: Change) -> Line:
    """A section added or removed, summarized: how many entities, and for resource types
    how many support each identity type; the entities themselves as a listing."""
    added = c.kind == "section_added"
    verb = "added" if added else "removed"
    mark: Mark = "added" if added else "removed"
    entities: dict[str, list[Record]] = {}
    for r in c.cells:
        entities.setdefault(r.entity, []).append(r)
    if not entities:
        return Line(mark, f"section {verb}")
    typed = {
        name: [r for r in cells if r.column_key == IDENTITY_COLUMN]
        for name, cells in entities.items()
    }
    n = len(entities)
    if any(typed.values()):
        noun = "resource type" if n == 1 else "resource types"
        per_type: dict[str, int] = {}
        unknown = 0
        for cells in typed.values():
            unknown += any(r.status == "unknown" for r in cells)
            for r in cells:
                if r.status in ("available", "preview"):
                    per_type[_label(r.row)] = per_type.get(_label(r.row), 0) + 1
        counts = [f"{label} {count}" for label, count in per_type.items()]
        if unknown:
            counts.append(f"{unknown} unreadable")
        listing = tuple(
            f"{_label(name)}: {_identity_types(cells)}" for name, cells in typed.items()
        )
        text = f"section {verb}: {n} {noun}" + (f" ({', '.join(counts)})" if counts else "")
        return Line(mark, text, listing=listing)
    noun = "entity" if n == 1 else "entities"
    listing = tuple(
        _label(name) + "".join(f" — {d.text()}" for d in _details(cells)[0])
        for name, cells in entities.items()
    )
    return Line(mark, f"section {verb}: {n} {noun}", listing=listing)


def group(changes: Iterable[Change]) -> list[Group]:
    """Changes grouped by entity, groups in the order the page first mentions them."""
    order: list[tuple[str, str]] = []
    lines: dict[tuple[str, str], list[Line]] = {}
    for c in changes:
        key = (c.section, c.entity)
        if key not in lines:
            order.append(key)
            lines[key] = []
        lines[key].append(describe(c))
    groups = []
    for section, entity in order:
        title = clean(entity, MAX_NAME) or clean(section, MAX_NAME) or "(the whole page)"
        groups.append(Group(title, clean(section, MAX_NAME), tuple(lines[(section, entity)])))
    return groups


def counts(changes: Sequence[Change]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in changes:
        mark = describe(c).mark
        out[mark] = out.get(mark, 0) + 1
    return out


_COUNTED = (
    ("regression", "regression", "regressions"),
    ("promotion", "promotion", "promotions"),
    ("removed", "removed", "removed"),
    ("added", "added", "added"),
    ("format", "format change", "format changes"),
)


def summary(changes: Sequence[Change]) -> str:
    """ "25 changes (21 promotions, 4 added)": regressions first, they are what matters."""
    n = counts(changes)
    parts = []
    for mark, singular, plural in _COUNTED:
        if n.get(mark):
            parts.append(f"{n[mark]} {singular if n[mark] == 1 else plural}")
    rest = len(changes) - sum(n.get(mark, 0) for mark, _, _ in _COUNTED)
    if rest and parts:
        parts.append(f"{rest} other")
    total = f"{len(changes)} change{'' if len(changes) == 1 else 's'}"
    return f"{total} ({', '.join(parts)})" if parts else total


# --- Slack ------------------------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
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
    return [_section(_fit(t)) for t in texts]


def change_blocks(groups: Sequence[Group]) -> list[dict[str, Any]]:
    """Section blocks for the groups, with a heading wherever the page's section changes
    (only when the change set spans more than one section)."""
    several = len({g.section for g in groups}) > 1
    blocks: list[dict[str, Any]] = []
    section: str | None = None
    for g in groups:
        if several and g.section != section:
            section = g.section
            blocks.append(_section(f":bookmark_tabs: _{mrkdwn(section or 'the page', 500)}_"))
        blocks.extend(_group_blocks(g))
    return blocks


def _pack(blocks: Sequence[dict[str, Any]], fixed_blocks: int) -> list[list[dict[str, Any]]]:
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
    # header + context + divider, and a closing context on all but the last part.
    parts = _pack(blocks, fixed_blocks=4)
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
    return f"part {index + 1} of {total}"


# --- email ------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _jinja() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    # autoescape is on for everything these templates render: they only make HTML.
    return Environment(
        loader=PackageLoader("watcher.delivery", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _html(template: str, **values: Any) -> str:
    return _jinja().get_template(template).render(**values)


def subject_line(text: str) -> str:
    """A mail subject: one line, no CR/LF whatever the page or the source name held."""
    return clean(text, 200)


def _text_body(head: Sequence[str], groups: Sequence[Group], route: str) -> str:
    several = len({g.section for g in groups}) > 1
    out = [*head, ""]
    section: str | None = None
    for g in groups:
        if several and g.section != section:
            section = g.section
            out += [f"== {section or 'the page'} ==", ""]
        out.append(g.title)
        for line in g.lines:
            out.append(f"  {TEXT_MARK[line.mark]} {line.text}")
            out.extend(f"      {d.text()}" for d in line.details)
            if line.more:
                out.append(f"      … and {line.more} more rows")
            out.extend(f"      • {item}" for item in line.listing)
        out.append("")
    out.append(f"-- \nSent by watcher for route {route}.")
    return "\n".join(out) + "\n"


# --- the three kinds of message ---------------------------------------------------------


def _summarized(
    cs: ChangeSet, groups: list[Group]
) -> tuple[list[Group], str | None, list[dict[str, Any]]]:
    """The groups to show, a note saying what was left out when the whole change set would
    take more than MAX_PARTS Slack messages (thousands of entities at once), and the Slack
    blocks of the groups shown."""
    blocks = change_blocks(groups)
    if len(_pack(blocks, fixed_blocks=4)) <= MAX_PARTS:
        return groups, None, blocks
    shown: list[Group] = []
    for g in groups[:SUMMARY_GROUPS]:
        g = replace(g, lines=g.lines[:SUMMARY_LINES])
        if shown and len(_pack(change_blocks([*shown, g]), fixed_blocks=5)) > 1:
            break
        shown.append(g)
    kinds: dict[str, int] = {}
    for c in cs.changes:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda i: -i[1]))
    stamp = cs.taken_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    command = f"watcher changes --source {clean(cs.source, 100)} --since {stamp}"
    note = (
        f"Too long for one message: {counted}; the first {len(shown)} of {len(groups)} "
        f"entities are shown. All of them: {command}"
    )
    return shown, note, change_blocks(shown)


def render_changes(cs: ChangeSet, key: str) -> Message:
    """The message of one route for one change set (a snapshot pair)."""
    source = clean(cs.source, 100)
    changes = list(cs.changes)
    groups, cut, blocks = _summarized(cs, group(changes))
    total = summary(changes)
    title = clean(cs.page_title, MAX_NAME) or "the page"
    url = web_url(cs.page_url)
    pair = (
        f"snapshot {cs.from_snapshot} → {cs.to_snapshot}"
        if cs.from_snapshot is not None
        else f"snapshot {cs.to_snapshot}"
    )
    seen = f"seen {when(cs.taken_at)}"
    previous = f"previous {when(cs.previous_taken_at)}" if cs.previous_taken_at else None
    dated = f"page dated {clean(cs.doc_date, 20)}" if cs.doc_date else None
    filtered = (
        f"{len(changes)} of {cs.total} changes, as this route's filters chose"
        if cs.total is not None and cs.total != len(changes)
        else None
    )

    context = " · ".join(
        [slack_link(url, title), mrkdwn(pair), mrkdwn(seen)]
        + [mrkdwn(p) for p in (dated, filtered) if p]
    )
    names = ", ".join(g.title for g in groups[:8]) + (", …" if len(groups) > 8 else "")
    if cut is not None:
        blocks.insert(0, _section(mrkdwn(cut, SLACK_MAX_SECTION)))
    slack = slack_messages(f"{source}: {total}", context, blocks, f"{source}: {total}: {names}")
    head = [
        f"{source}: {total}",
        f"{title}: {clean(cs.page_url) or 'no web address'}",
        ", ".join(p for p in (pair, seen, previous, dated) if p),
    ] + [p for p in (filtered, cut) if p]
    html = _html(
        "changes.html.j2",
        source=source,
        summary=total,
        counts=counts(changes),
        counted=[m for m, _, _ in _COUNTED],
        page_url=url,
        page_title=title,
        page_address=clean(cs.page_url),
        pair=pair,
        seen=seen,
        previous=previous,
        dated=dated,
        filtered="; ".join(p for p in (filtered, cut) if p) or None,
        groups=groups,
        several_sections=len({g.section for g in groups}) > 1,
        route=clean(cs.route, 100),
        words=MARK_WORD,
        marks=TEXT_MARK,
    )
    return Message(
        key=key,
        subject=subject_line(f"[watcher] {source}: {total}"),
        text=_text_body(head, groups, clean(cs.route, 100)),
        html=html,
        slack=slack,
    )


OPS_TITLES = {
    "quarantined": "a page was quarantined by the guard",
    "reformatted": "the page's new format was accepted",
    "failing": "checks are failing",
    "stale": "no successful check for too long",
    "recovered": "checks succeed again",
    "dead": "a notification could not be delivered",
}


def render_ops(
    *, key: str, event: str, text: str, source: str | None, at: datetime, route: str
) -> Message:
    """An operator notice: what happened to which source, in a few lines."""
    where = clean(source, 100) or "watcher"
    title = f"{where}: {OPS_TITLES.get(event, clean(event, 50))}"
    body = clean(text, 2500)
    context = f"watcher ops notice · {mrkdwn(clean(event, 50))} · {when(at)}"
    slack = slack_messages(
        f":rotating_light: {title}", context, [_section(mrkdwn(body, SLACK_MAX_SECTION))], title
    )
    html = _html(
        "ops.html.j2",
        title=title,
        body=body,
        event=clean(event, 50),
        at=when(at),
        route=clean(route, 100),
    )
    plain = f"{title}\n\n{body}\n\nEvent: {clean(event, 50)}, {when(at)}\n-- \nSent by watcher.\n"
    return Message(
        key=key, subject=subject_line(f"[watcher ops] {title}"), text=plain, html=html, slack=slack
    )


def render_test(*, key: str, route: str, at: datetime) -> Message:
    """The message of `watcher notify test ROUTE`."""
    name = clean(route, 100)
    title = f"watcher test message for route {name}"
    body = (
        f"If you can read this, route {name} delivers here. "
        "Change notifications for it will arrive the same way."
    )
    slack = slack_messages(title, f"sent {when(at)}", [_section(mrkdwn(body))], title)
    html = _html("ops.html.j2", title=title, body=body, event="test", at=when(at), route=name)
    return Message(
        key=key,
        subject=subject_line(f"[watcher] {title}"),
        text=f"{title}\n\n{body}\n",
        html=html,
        slack=slack,
    )
