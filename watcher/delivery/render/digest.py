"""A digest's message: the change sets a route's digest gathered, as one message, grouped by
source and then by entity, each change once (``watcher.domain.digest.fold``: a cell that
changed and changed back says so).

Made of the change message's pieces: the groups and their lines (``message``), the Slack
blocks and their packing into parts (``slack``), the card containers and parts (``teams``),
the email's group rows (``templates/_groups.html.j2``) and plain text (``email``); the
webhook body is ``type: "digest"`` (``webhook.digest_body``). Pure, like the rest of
``watcher.delivery.render``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watcher.delivery.render.compose import summarized
from watcher.delivery.render.email import group_text, html, subject_line
from watcher.delivery.render.message import (
    COUNTED,
    MARK_WORD,
    TEXT_MARK,
    ChangeSet,
    Group,
    Message,
    group_lines,
    mark_counts,
    summary_of,
    web_url,
    when,
)
from watcher.delivery.render.neutral import card_markdown, mrkdwn, slack_escape
from watcher.delivery.render.slack import (
    SLACK_MAX_SECTION,
    change_blocks,
    section,
    slack_link,
    slack_messages,
)
from watcher.delivery.render.teams import change_elements, teams_messages
from watcher.delivery.render.teams import text as card_text
from watcher.delivery.render.webhook import body, change_set_fields
from watcher.domain.describe import MAX_NAME, clean
from watcher.domain.digest import Folded, fold
from watcher.domain.times import iso

# A cell that changed and changed back is counted apart: it is no promotion, no regression.
BACK = "back"
DIGEST_COUNTED = (*COUNTED, (BACK, "changed back", "changed back"))


@dataclass(frozen=True)
class DigestSet:
    """What one digest reports: the change sets it covers (oldest first), for ``route``, at
    the time ``at`` of its ``schedule``; ``since`` is when the oldest was queued."""

    route: str
    schedule: str
    at: datetime
    since: datetime | None
    sets: tuple[ChangeSet, ...]


@dataclass(frozen=True)
class SourcePart:
    """One source's part of a digest: its change sets and their changes folded."""

    source: str
    title: str
    url: str | None
    sets: tuple[ChangeSet, ...]
    folded: tuple[Folded, ...]
    groups: tuple[Group, ...]
    summary: str
    counts: dict[str, int]
    cut: str | None = None  # what a part too long left out, and how to list all of it

    @property
    def span(self) -> str:
        """Which snapshots the part goes from and to, and how many change sets."""
        first, last = self.sets[0], self.sets[-1]
        start = first.from_snapshot if first.from_snapshot is not None else first.to_snapshot
        n = len(self.sets)
        return f"snapshot {start} → {last.to_snapshot}, {n} change set{'s' if n > 1 else ''}"


def parts(ds: DigestSet) -> list[SourcePart]:
    """The digest's sources in the order their first change set came, each folded."""
    by_source: dict[str, list[ChangeSet]] = {}
    for cs in ds.sets:
        by_source.setdefault(cs.source, []).append(cs)
    out = []
    for name, sets in by_source.items():
        folded = tuple(fold(c for cs in sets for c in cs.changes))
        lines = [(f.change, f.line) for f in folded]
        counts = mark_counts(
            BACK if f.how == "back" else line.mark
            for f, (_, line) in zip(folded, lines, strict=True)
        )
        latest = sets[-1]
        # A part too long for MAX_PARTS Slack messages shows its first entities and says how
        # to list all of it, like a change set that long.
        shown, cut, _ = summarized(
            name, sets[0].taken_at, [f.change for f in folded], group_lines(lines)
        )
        out.append(
            SourcePart(
                source=clean(name, 100),
                title=clean(latest.page_title, MAX_NAME) or "the page",
                url=web_url(latest.page_url),
                sets=tuple(sets),
                folded=folded,
                groups=tuple(shown),
                cut=cut,
                summary=summary_of(counts, DIGEST_COUNTED),
                counts=counts,
            )
        )
    return out


def _context(ds: DigestSet, sources: list[SourcePart]) -> str:
    n = len(ds.sets)
    period = f"since {when(ds.since)} · " if ds.since is not None else ""
    names = "source" if len(sources) == 1 else "sources"
    return (
        f"digest {clean(ds.schedule, 100)} · {period}{n} change set{'s' if n != 1 else ''} "
        f"from {len(sources)} {names}"
    )


def _slack(title: str, context: str, sources: list[SourcePart]) -> tuple[dict[str, Any], ...]:
    blocks: list[dict[str, Any]] = []
    for p in sources:
        head = f":page_facing_up: *{slack_escape(p.source)}*: {slack_escape(p.summary)}"
        where = f"{slack_link(p.url, p.title)} · {mrkdwn(p.span)}"
        blocks.append(section(f"{head}\n{where}"))
        if p.cut is not None:
            blocks.append(section(slack_escape(p.cut, SLACK_MAX_SECTION)))
        blocks.extend(change_blocks(p.groups))
    fallback = f"{title}: " + ", ".join(p.source for p in sources)
    return slack_messages(title, mrkdwn(context), blocks, fallback)


def _teams(title: str, context: str, sources: list[SourcePart]) -> tuple[dict[str, Any], ...]:
    elements: list[dict[str, Any]] = []
    for p in sources:
        head = f"{card_markdown(p.source)}: {p.summary}"
        elements.append(card_text(head, size="Medium", weight="Bolder"))
        elements.append(
            card_text(f"{card_markdown(p.title)} · {p.span}", isSubtle=True, spacing="None")
        )
        if p.cut is not None:
            elements.append(card_text(card_markdown(p.cut), isSubtle=True))
        elements.extend(change_elements(p.groups))
    url = sources[0].url if len(sources) == 1 else None
    return teams_messages(title, context, elements, url)


def _text(title: str, context: str, route: str, sources: list[SourcePart]) -> str:
    out = [title, context, ""]
    for p in sources:
        out += [f"## {p.source}: {p.summary}", f"{p.title}: {p.url or 'no web address'}"]
        out += [p.span, *([p.cut] if p.cut else []), "", *group_text(p.groups)]
    out.append(f"-- \nSent by watcher for route {route}: its digest.")
    return "\n".join(out) + "\n"


def render_digest(ds: DigestSet, key: str) -> Message:
    """The message of one route's digest."""
    sources = parts(ds)
    counted: dict[str, int] = {}
    for p in sources:
        for mark, n in p.counts.items():
            counted[mark] = counted.get(mark, 0) + n
    total = summary_of(counted, DIGEST_COUNTED)
    title = f"{clean(ds.route, 100)} digest: {total}"
    context = _context(ds, sources)

    def page() -> str:
        return html(
            "digest.html.j2",
            title=title,
            summary=total,
            context=context,
            sources=sources,
            counted=[m for m, _, _ in COUNTED],
            route=clean(ds.route, 100),
            words=MARK_WORD,
            marks=TEXT_MARK,
        )

    return Message(
        key=key,
        subject=subject_line(f"[watcher] {title}"),
        text=_text(title, context, clean(ds.route, 100), sources),
        render_html=page,
        slack=_slack(title, context, sources),
        teams=_teams(card_markdown(title), card_markdown(context), sources),
        webhook=_webhook(ds, key, total, sources),
    )


def _folded_entry(f: Folded, ids: dict[int, Any]) -> dict[str, Any]:
    c = f.change
    return {
        "kind": c.kind,
        "severity": c.severity,
        "section": c.section,
        "entity": c.entity,
        "row": c.row,
        "column": c.column,
        "old_raw": c.old_raw,
        "new_raw": c.new_raw,
        "old_status": c.old_status,
        "new_status": c.new_status,
        "folded": f.how,
        "note": f.line.note or None,
        "changes": [ids.get(id(step)) for step in f.steps],
    }


def _webhook(ds: DigestSet, key: str, total: str, sources: list[SourcePart]) -> bytes:
    """``type: "digest"``: per source its change sets as a ``changes`` body has them (the
    snapshots and the change log's rows) and ``folded``: each thing once, with the ids of
    the changes it folds."""
    out = []
    for p in sources:
        # The change log's row of each change (the same order as the change set's changes).
        ids = {
            id(c): row.get("id")
            for cs in p.sets
            for c, row in zip(cs.changes, cs.log, strict=False)
        }
        latest = p.sets[-1]
        about = {"name": latest.source, "url": latest.page_url, "title": latest.page_title}
        out.append(
            {
                "source": about,
                "summary": p.summary,
                "change_sets": [change_set_fields(cs) for cs in p.sets],
                "folded": [_folded_entry(f, ids) for f in p.folded],
            }
        )
    return body(
        "digest",
        key,
        ds.route,
        schedule=ds.schedule,
        at=iso(ds.at),
        since=iso(ds.since),
        summary=total,
        sources=out,
    )
