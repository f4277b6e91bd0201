"""The three kinds of message: a route's change set, an operator notice, a test message;
each composed once into every rendering (Slack, email HTML and text) a channel may send."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from watcher.delivery.render.email import html, subject_line, text_body
from watcher.delivery.render.message import (
    COUNTED,
    MARK_WORD,
    TEXT_MARK,
    ChangeSet,
    Group,
    Message,
    counts,
    group,
    summary,
    web_url,
    when,
)
from watcher.delivery.render.neutral import card_markdown, mrkdwn, slack_escape
from watcher.delivery.render.slack import (
    SLACK_MAX_SECTION,
    change_blocks,
    pack,
    section,
    slack_link,
    slack_messages,
)
from watcher.delivery.render.teams import change_elements, teams_messages
from watcher.delivery.render.teams import text as card_text
from watcher.delivery.render.webhook import changes_body, notify_test_body, ops_body
from watcher.domain.describe import MAX_NAME, clean
from watcher.domain.document import Change

# A change set that would take more Slack messages than this is summarized: counts per
# kind, its first entities (a few lines each), and the command that lists all of it.
MAX_PARTS = 3
SUMMARY_GROUPS = 10
SUMMARY_LINES = 5


def _summarized(
    cs: ChangeSet, groups: list[Group]
) -> tuple[list[Group], str | None, list[dict[str, Any]]]:
    return summarized(cs.source, cs.taken_at, cs.changes, groups)


def summarized(
    source: str, since: datetime, changes: Sequence[Change], groups: list[Group]
) -> tuple[list[Group], str | None, list[dict[str, Any]]]:
    """The groups to show, a note saying what was left out when the whole change set (or a
    digest's part of one source) would take more than MAX_PARTS Slack messages (thousands of
    entities at once), and the Slack blocks of the groups shown; ``since`` is when its
    changes were first seen, for the command that lists them all."""
    blocks = change_blocks(groups)
    if len(pack(blocks)) <= MAX_PARTS:
        return groups, None, blocks
    shown: list[Group] = []
    for g in groups[:SUMMARY_GROUPS]:
        g = replace(g, lines=g.lines[:SUMMARY_LINES])
        # One more fixed block than usual: the note itself opens the message.
        if shown and len(pack(change_blocks([*shown, g]), fixed_blocks=5)) > 1:
            break
        shown.append(g)
    kinds: dict[str, int] = {}
    for c in changes:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
    counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items(), key=lambda i: -i[1]))
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    command = f"watcher changes --source {clean(source, 100)} --since {stamp}"
    note = (
        f"Too long for one message: {counted}; the first {len(shown)} of {len(groups)} "
        f"entities are shown. All of them: {command}"
    )
    return shown, note, change_blocks(shown)


@dataclass(frozen=True)
class _About:
    """What a change message says before its changes: which page, which snapshots, when."""

    source: str
    total: str  # the summary: "25 changes (21 promotions, 4 added)"
    title: str
    url: str | None
    pair: str
    seen: str
    previous: str | None
    dated: str | None
    filtered: str | None


def _about(cs: ChangeSet) -> _About:
    n = len(cs.changes)
    pair = (
        f"snapshot {cs.from_snapshot} → {cs.to_snapshot}"
        if cs.from_snapshot is not None
        else f"snapshot {cs.to_snapshot}"
    )
    return _About(
        source=clean(cs.source, 100),
        total=summary(cs.changes),
        title=clean(cs.page_title, MAX_NAME) or "the page",
        url=web_url(cs.page_url),
        pair=pair,
        seen=f"seen {when(cs.taken_at)}",
        previous=f"previous {when(cs.previous_taken_at)}" if cs.previous_taken_at else None,
        dated=f"page dated {clean(cs.doc_date, 20)}" if cs.doc_date else None,
        filtered=(
            f"{n} of {cs.total} changes, as this route's filters chose"
            if cs.total is not None and cs.total != n
            else None
        ),
    )


def _slack(
    a: _About, groups: list[Group], blocks: list[dict[str, Any]], cut: str | None
) -> tuple[dict[str, Any], ...]:
    context = " · ".join(
        [slack_link(a.url, a.title), mrkdwn(a.pair), mrkdwn(a.seen)]
        + [mrkdwn(p) for p in (a.dated, a.filtered) if p]
    )
    names = ", ".join(g.title for g in groups[:8]) + (", …" if len(groups) > 8 else "")
    if cut is not None:
        blocks = [section(slack_escape(cut, SLACK_MAX_SECTION)), *blocks]
    headline = f"{a.source}: {a.total}"
    return slack_messages(headline, context, blocks, f"{headline}: {names}")


def _teams(a: _About, groups: list[Group], cut: str | None) -> tuple[dict[str, Any], ...]:
    # The title is page text; the rest of the context line is watcher's own words.
    context = " · ".join(
        [card_markdown(a.title), a.pair, a.seen] + [p for p in (a.dated, a.filtered) if p]
    )
    elements = change_elements(groups)
    if cut is not None:
        elements = [card_text(card_markdown(cut), isSubtle=True), *elements]
    return teams_messages(f"{a.source}: {a.total}", context, elements, a.url)


def _html(a: _About, cs: ChangeSet, groups: list[Group], cut: str | None) -> str:
    return html(
        "changes.html.j2",
        source=a.source,
        summary=a.total,
        counts=counts(cs.changes),
        counted=[m for m, _, _ in COUNTED],
        page_url=a.url,
        page_title=a.title,
        page_address=clean(cs.page_url),
        pair=a.pair,
        seen=a.seen,
        previous=a.previous,
        dated=a.dated,
        filtered="; ".join(p for p in (a.filtered, cut) if p) or None,
        groups=groups,
        several_sections=len({g.section for g in groups}) > 1,
        route=clean(cs.route, 100),
        words=MARK_WORD,
        marks=TEXT_MARK,
    )


def render_changes(cs: ChangeSet, key: str) -> Message:
    """The message of one route for one change set (a snapshot pair)."""
    groups, cut, blocks = _summarized(cs, group(cs.changes))
    a = _about(cs)
    head = [
        f"{a.source}: {a.total}",
        f"{a.title}: {clean(cs.page_url) or 'no web address'}",
        ", ".join(p for p in (a.pair, a.seen, a.previous, a.dated) if p),
    ] + [p for p in (a.filtered, cut) if p]
    return Message(
        key=key,
        subject=subject_line(f"[watcher] {a.source}: {a.total}"),
        text=text_body(head, groups, clean(cs.route, 100)),
        render_html=lambda: _html(a, cs, groups, cut),
        slack=_slack(a, groups, blocks, cut),
        teams=_teams(a, groups, cut),
        webhook=changes_body(cs, key, a.total),
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
        f":rotating_light: {title}", context, [section(mrkdwn(body, SLACK_MAX_SECTION))], title
    )

    def page() -> str:
        return html(
            "ops.html.j2",
            title=title,
            body=body,
            event=clean(event, 50),
            at=when(at),
            route=clean(route, 100),
        )

    plain = f"{title}\n\n{body}\n\nEvent: {clean(event, 50)}, {when(at)}\n-- \nSent by watcher.\n"
    card = teams_messages(
        f"🚨 {card_markdown(title)}",
        f"watcher ops notice · {card_markdown(clean(event, 50))} · {when(at)}",
        [card_text(card_markdown(body))],
        None,
    )
    return Message(
        key=key,
        subject=subject_line(f"[watcher ops] {title}"),
        text=plain,
        render_html=page,
        slack=slack,
        teams=card,
        webhook=ops_body(key=key, event=event, text=body, source=source, at=at, route=route),
    )


def render_test(*, key: str, route: str, at: datetime) -> Message:
    """The message of `watcher notify test ROUTE`."""
    name = clean(route, 100)
    title = f"watcher test message for route {name}"
    body = (
        f"If you can read this, route {name} delivers here. "
        "Change notifications for it will arrive the same way."
    )
    slack = slack_messages(title, f"sent {when(at)}", [section(mrkdwn(body))], title)

    def page() -> str:
        return html("ops.html.j2", title=title, body=body, event="test", at=when(at), route=name)

    card = teams_messages(title, f"sent {when(at)}", [card_text(card_markdown(body))], None)
    return Message(
        key=key,
        subject=subject_line(f"[watcher] {title}"),
        text=f"{title}\n\n{body}\n",
        render_html=page,
        slack=slack,
        teams=card,
        webhook=notify_test_body(key=key, route=route, at=at),
    )
