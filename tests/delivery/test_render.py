"""Rendering is pure: hostile page text is escaped, long text is cut and split, headers are safe."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

from watcher.delivery.channels.email import build_email
from watcher.delivery.render import ChangeSet, render_changes, render_ops
from watcher.delivery.render.compose import MAX_PARTS
from watcher.delivery.render.neutral import mrkdwn
from watcher.delivery.render.slack import (
    SLACK_MAX_BLOCKS,
    SLACK_MAX_HEADER,
    SLACK_MAX_SECTION,
)
from watcher.domain.describe import clean
from watcher.domain.document import Change, Record

AT = datetime(2021, 11, 9, tzinfo=UTC)
HOSTILE = "<!channel> <!here> <@U123> & <#C999> <https://evil.example|click me> @everyone"
INVALID_UTF8 = b"caf\xe9 \xff\xfe".decode("utf-8", "surrogateescape")
CRLF = "line one\r\nBcc: victim@example.com\r\n\r\nbody injection"


def status_change(entity: str, old: str, new: str, **fields: Any) -> Change:
    return Change(
        kind="status_changed",
        severity="notice" if (old, new) != ("available", "not_available") else "warning",
        section=fields.pop("section", "Services"),
        entity=entity,
        row="system_assigned",
        column="usgov",
        row_label=fields.pop("row_label", "System assigned"),
        column_label=fields.pop("column_label", "Azure Government"),
        old_status=old,  # type: ignore[arg-type]
        new_status=new,  # type: ignore[arg-type]
        old_raw=fields.pop("old_raw", old),
        new_raw=fields.pop("new_raw", new),
        **fields,
    )


def change_set(changes: list[Change], source: str = "azure-mi") -> ChangeSet:
    return ChangeSet(
        source=source,
        route="team",
        to_snapshot=2,
        from_snapshot=1,
        taken_at=AT,
        previous_taken_at=datetime(2021, 1, 28, tzinfo=UTC),
        page_url="https://example.com/page.md",
        page_title="Managed identities | Microsoft Docs",
        doc_date="2021-11-09",
        changes=tuple(changes),
    )


def texts(payload: dict[str, Any]) -> list[str]:
    """Every text Slack would render in one message payload."""
    out = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(e["text"] for e in block.get("elements", ()))
    return out


def assert_within_slack_limits(payloads: tuple[dict[str, Any], ...]) -> None:
    for p in payloads:
        assert len(p["blocks"]) <= SLACK_MAX_BLOCKS
        json.dumps(p, ensure_ascii=False).encode("utf-8")  # encodable: no lone surrogates
        for block in p["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= SLACK_MAX_SECTION
                assert block["text"]["verbatim"] is True
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= SLACK_MAX_HEADER
        assert sum(len(t) for t in texts(p)) < 13_000  # Slack's msg_blocks_too_long


def assert_no_live_slack_markup(payloads: tuple[dict[str, Any], ...]) -> None:
    for p in payloads:
        for t in texts(p):
            # The only <...> left are our own links to the page.
            assert re.findall(r"<(?!https://example\.com/page\.md\|)[^>]*>", t) == [], t
            assert "<!" not in t and "<@" not in t and "<#" not in t


def test_promotions_and_regressions_are_marked() -> None:
    msg = render_changes(
        change_set(
            [
                status_change("Azure Functions", "preview", "available"),
                status_change("Azure Batch", "available", "not_available"),
            ]
        ),
        key="k",
    )
    [payload] = msg.slack
    body = "\n".join(texts(payload))
    assert ":arrow_up: System assigned · Azure Government: Preview → *Available*" in body
    assert (
        ":small_red_triangle_down: System assigned · Azure Government: Available → *Not available*"
        in body
    )
    assert payload["blocks"][0]["text"]["text"] == (
        "azure-mi: 2 changes (1 regression, 1 promotion)"
    )
    # Slack splits a link at its first "|": a "|" in the title stays part of the label.
    assert "<https://example.com/page.md|Managed identities | Microsoft Docs>" in body
    assert "2021-11-09 00:00 UTC" in body
    assert msg.subject == "[watcher] azure-mi: 2 changes (1 regression, 1 promotion)"
    assert "▼ System assigned · Azure Government: Available → Not available" in msg.text
    assert "▲ System assigned · Azure Government: Preview → Available" in msg.text
    assert "regressed" in msg.html and "promoted" in msg.html


def test_hostile_page_text_is_escaped_everywhere() -> None:
    changes = [
        status_change(HOSTILE, "preview", "available"),
        Change(
            kind="value_changed",
            severity="info",
            section="Services",
            entity=f"Entity {INVALID_UTF8}",
            row="global",
            column="resourceid",
            row_label=CRLF,
            column_label="Resource ID",
            old_raw="<script>alert(1)</script>",
            new_raw=HOSTILE,
        ),
    ]
    msg = render_changes(change_set(changes, source="src\r\nBcc: victim@example.com"), key="k")
    assert_within_slack_limits(msg.slack)
    assert_no_live_slack_markup(msg.slack)
    body = json.dumps(msg.slack)
    assert "&lt;!channel&gt;" in body and "&lt;@U123&gt;" in body and "&amp;" in body
    # Email: one-line subject, no header injected, HTML escaped, text and HTML encodable.
    assert "\r" not in msg.subject and "\n" not in msg.subject
    assert "<script>" not in msg.html and "&lt;script&gt;" in msg.html
    assert "<!channel>" not in msg.html and "&lt;!channel&gt;" in msg.html
    assert "\ufffd" in msg.text and "\udcff" not in msg.text + msg.html
    raw = build_email(msg, "watcher@example.com", ["team@example.com"]).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None
    assert parsed["To"] == "team@example.com"
    assert "victim" not in str(parsed["To"])
    assert parsed["Subject"].startswith("[watcher] src Bcc: victim@example.com: 2 changes")
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert all(not line.lower().startswith(b"bcc") for line in header_block.split(b"\r\n"))


def huge_changes(count: int) -> list[Change]:
    huge = ("A" * 1000 + " <!channel> & \r\n") * 100  # ~100 KB, with markup and CR/LF
    return [
        Change(
            kind="value_changed",
            severity="info",
            section="Services",
            entity=f"Service {i:03d} {HOSTILE}",
            row="global",
            column="resourceid",
            row_label="Azure Global",
            column_label="Resource ID",
            old_raw=huge,
            new_raw=huge + INVALID_UTF8,
        )
        for i in range(count)
    ]


def test_100_kb_of_text_is_cut_and_many_entities_are_split_across_messages() -> None:
    msg = render_changes(change_set(huge_changes(15)), key="k")
    assert 1 < len(msg.slack) <= MAX_PARTS
    assert_within_slack_limits(msg.slack)
    assert_no_live_slack_markup(msg.slack)
    headers = [p["blocks"][0]["text"]["text"] for p in msg.slack]
    assert headers[-1].endswith(f"(part {len(msg.slack)} of {len(msg.slack)})")
    everything = json.dumps(msg.slack)
    assert all(f"Service {i:03d}" in everything for i in range(15))
    # The email carries every entity too, with each value cut to a readable length.
    assert len(msg.text) < 15 * 1200
    assert all(f"Service {i:03d}" in msg.text for i in range(15))
    build_email(msg, "watcher@example.com", ["team@example.com"]).as_bytes()


def test_a_change_set_too_long_for_a_few_messages_is_summarized() -> None:
    msg = render_changes(change_set(huge_changes(150)), key="k")
    assert len(msg.slack) <= 2
    assert_within_slack_limits(msg.slack)
    assert_no_live_slack_markup(msg.slack)
    everything = json.dumps(msg.slack)
    assert "Service 000" in everything and "Service 149" not in everything
    note = "Too long for one message: 150 value_changed; the first"
    assert note in everything and note in msg.text
    assert "All of them: watcher changes --source azure-mi --since " in msg.text
    assert len(msg.text) < 20 * 1200
    build_email(msg, "watcher@example.com", ["team@example.com"]).as_bytes()


def test_one_entity_with_many_changes_is_split_into_sections() -> None:
    changes = [
        status_change(
            "Azure Everything",
            "preview",
            "available",
            row_label=f"Row {i} " + "x" * 150,
            column_label="Azure Government " + "y" * 100,
        )
        for i in range(60)
    ]
    msg = render_changes(change_set(changes), key="k")
    assert_within_slack_limits(msg.slack)
    sections = [b["text"]["text"] for p in msg.slack for b in p["blocks"] if b["type"] == "section"]
    assert len(sections) > 1
    assert sections[1].startswith("*Azure Everything* (continued)")


def test_added_entities_list_their_cells_by_row() -> None:
    cells = tuple(
        Record(
            section="Services",
            entity="Azure Maps",
            row=row,
            column=col,
            raw=raw,
            status=status,  # type: ignore[arg-type]
            section_key="services",
            entity_key="azuremaps",
            row_key=row.lower(),
            column_key=col.lower(),
        )
        for row in ("System assigned", "User assigned")
        for col, raw, status in (
            ("Global", "Preview", "preview"),
            ("China", "Not available", "not_available"),
        )
    )
    added = Change(
        kind="entity_added", severity="notice", section="Services", entity="Azure Maps", cells=cells
    )
    msg = render_changes(change_set([added]), key="k")
    # Known clouds by their short names, as in the lines of cell changes.
    assert "System assigned: Global Azure: Preview · Azure China: Not available" in msg.text
    body = "\n".join(texts(msg.slack[0]))
    assert ":heavy_plus_sign: new on the page" in body
    assert "System assigned: Global Azure: *Preview* · Azure China: *Not available*" in body


def test_rendering_is_deterministic() -> None:
    cs = change_set([status_change("Azure Functions", "preview", "available")])
    assert render_changes(cs, key="k") == render_changes(cs, key="k")


def test_ops_notice_escapes_its_text() -> None:
    msg = render_ops(
        key="k", event="failing", text=f"fetch failed: {HOSTILE}\r\nX-Header: y", source="src",
        at=AT, route="ops",
    )  # fmt: skip
    assert_no_live_slack_markup(msg.slack)
    assert msg.subject == "[watcher ops] src: checks are failing"
    assert "\n" not in msg.subject
    assert "&lt;!channel&gt;" in msg.html


def test_clean_and_mrkdwn() -> None:
    assert clean("a\r\nb\tc\x00d") == "a b c d"
    assert clean("Linux: Preview<br>Windows: Not available") == (
        "Linux: Preview; Windows: Not available"
    )
    assert clean("x" * 10, 5) == "xxxx…"
    assert clean(INVALID_UTF8) == "caf\ufffd \ufffd\ufffd"
    assert mrkdwn("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"
    # Cut after escaping, never inside an escape.
    assert mrkdwn("&&&&", 10) == "&amp;…"
