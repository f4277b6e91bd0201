"""What every rendering of a notification shares: the ``Message`` a channel sends, the
``ChangeSet`` it reports, and its changes grouped by entity and counted by mark.

The words of each change come from ``watcher.domain.describe``; this module only arranges
them. Pure, like the rest of ``watcher.delivery.render``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from watcher.domain.describe import MAX_NAME, Line, clean, describe
from watcher.domain.document import Change

# How a plain-text layout (an email's text part, stdout) marks each kind of line, and the
# word an HTML badge shows beside the mark.
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


@dataclass(frozen=True)
class Message:
    """Every rendering of one notification.

    ``key`` is the notification's idempotency key: email uses it for a stable Message-ID, so
    that a resend after a crash is recognised by mail clients as the same message.
    ``delivered`` is what earlier attempts achieved per delivery unit (recipients, message
    parts), from the outbox; the dispatcher fills it in before a retry, and ``on_confirm``
    with what records a unit the moment a channel ``confirm``s it.
    """

    key: str
    subject: str
    text: str
    slack: tuple[dict[str, Any], ...]
    # Teams Workflows envelopes (one per part, like ``slack``) and the signed webhook's JSON
    # body (``render.webhook``), as the bytes it is signed and sent as.
    teams: tuple[dict[str, Any], ...] = ()
    webhook: bytes = b""
    # The email's HTML part, rendered on first use (``html``): only an email route reads it,
    # and rendering it imports jinja2, about 15 ms of a cron run that sends elsewhere.
    render_html: Callable[[], str] = field(default=str, compare=False, repr=False)

    delivered: Mapping[str, str] = field(default_factory=dict)
    on_confirm: Callable[[Mapping[str, str]], None] | None = field(
        default=None, compare=False, repr=False
    )

    @cached_property
    def html(self) -> str:
        return self.render_html()

    def finished(self, unit: str) -> bool:
        """True when an earlier attempt settled this unit: sent, or refused for good."""
        state = self.delivered.get(unit, "")
        return state == "sent" or state.startswith("refused")

    def confirm(self, units: Mapping[str, str]) -> None:
        """Say which delivery units the far end has just settled (``sent``, or ``refused:
        <reason>``), before the channel sends the next one.

        The dispatcher records them durably at once, so a process killed after this posts
        none of them again: a message sent in parts resends at most the part in flight.
        What recording raises (a full database) stops the send: a part the outbox cannot
        remember is not followed by another.
        """
        if units and self.on_confirm is not None:
            self.on_confirm(units)


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
    # For the webhook: each change as the change log lists it (storage.changelog.change_row)
    # and where both snapshots came from (storage.changelog.provenance).
    log: tuple[Mapping[str, Any], ...] = ()
    from_provenance: Mapping[str, Any] | None = None
    to_provenance: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Group:
    """The changes of one entity (or of a whole section or column), in page order."""

    title: str
    section: str
    lines: tuple[Line, ...] = field(default=())


def part_name(index: int, total: int) -> str:
    """The delivery unit name of one part of a split message (Slack's, Teams')."""
    return f"part {index + 1} of {total}"


def when(moment: datetime | None) -> str:
    if moment is None:
        return "unknown time"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def web_url(url: str | None) -> str | None:
    return url if url and url.startswith(("http://", "https://")) else None


def group(changes: Iterable[Change]) -> list[Group]:
    """Changes grouped by entity, groups in the order the page first mentions them."""
    return group_lines((c, describe(c)) for c in changes)


def group_lines(described: Iterable[tuple[Change, Line]]) -> list[Group]:
    """Changes with their lines (``describe``'s, or a digest's folded ones) grouped by
    entity, in the order first mentioned."""
    order: list[tuple[str, str]] = []
    lines: dict[tuple[str, str], list[Line]] = {}
    for c, line in described:
        key = (c.section, c.entity)
        if key not in lines:
            order.append(key)
            lines[key] = []
        lines[key].append(line)
    groups = []
    for section, entity in order:
        title = clean(entity, MAX_NAME) or clean(section, MAX_NAME) or "(the whole page)"
        groups.append(Group(title, clean(section, MAX_NAME), tuple(lines[(section, entity)])))
    return groups


def counts(changes: Sequence[Change]) -> dict[str, int]:
    return mark_counts(describe(c).mark for c in changes)


def mark_counts(marks: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for mark in marks:
        out[mark] = out.get(mark, 0) + 1
    return out


# The marks a summary counts, in the order it names them, with their nouns.
COUNTED = (
    ("regression", "regression", "regressions"),
    ("promotion", "promotion", "promotions"),
    ("removed", "removed", "removed"),
    ("added", "added", "added"),
    ("format", "format change", "format changes"),
)


def summary(changes: Sequence[Change]) -> str:
    """ "25 changes (21 promotions, 4 added)": regressions first, they are what matters."""
    return summary_of(counts(changes))


def summary_of(n: Mapping[str, int], counted: Sequence[tuple[str, str, str]] = COUNTED) -> str:
    """The summary of changes counted by mark (``counts``, ``mark_counts``), naming the
    marks of ``counted`` (mark, singular, plural) and the rest as "other"."""
    parts = []
    for mark, singular, plural in counted:
        if n.get(mark):
            parts.append(f"{n[mark]} {singular if n[mark] == 1 else plural}")
    size = sum(n.values())
    rest = size - sum(n.get(mark, 0) for mark, _, _ in counted)
    if rest and parts:
        parts.append(f"{rest} other")
    total = f"{size} change{'' if size == 1 else 's'}"
    return f"{total} ({', '.join(parts)})" if parts else total
