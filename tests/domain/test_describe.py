"""The one describer: each kind of change in words, the same for the terminal, the messages
and reparse; page text cleaned; long values cut in messages only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from watcher.audit.changes import describe_change
from watcher.delivery.render import ChangeSet, render_changes
from watcher.domain.describe import (
    MAX_VALUE,
    STATUS_LABEL,
    clean,
    column_name,
    describe,
    one_line,
    sentence,
)
from watcher.domain.document import IDENTITY_COLUMN, STATUSES, Change, Record


def change(kind: str, **fields: Any) -> Change:
    base: dict[str, Any] = {
        "kind": kind,
        "severity": "notice",
        "section": "Services",
        "entity": "Azure Maps",
        "row": "user_assigned",
        "column": "usgov",
        "row_label": "User assigned",
        "column_label": "Azure Government",
    }
    return Change(**{**base, **fields})


def cell(row: str, column: str, key: str, raw: str, status: str | None) -> Record:
    return Record(
        section="Services",
        entity="Azure Maps",
        row=row,
        column=column,
        raw=raw,
        status=status,  # type: ignore[arg-type]
        section_key="services",
        entity_key="azuremaps",
        row_key=row.lower().replace(" ", "_"),
        column_key=key,
    )


@pytest.mark.parametrize(
    ("c", "mark", "text"),
    [
        (
            change("status_changed", old_status="preview", new_status="available"),
            "promotion",
            "User assigned · Azure Government: Preview → Available",
        ),
        (
            change(
                "status_changed",
                severity="warning",
                old_status="available",
                new_status="mixed",
                new_raw="Linux: Preview<br>Windows: Not available",
            ),
            "regression",
            "User assigned · Azure Government: Available → Mixed (Linux: Preview; Windows: "
            "Not available)",
        ),
        (
            change("status_changed", old_status="unknown", old_raw="?", new_status="available"),
            "changed",
            "User assigned · Azure Government: Unknown (?) → Available",
        ),
        (
            change("value_changed", column="resource_id", column_label="Resource ID", new_raw="x"),
            "changed",
            "User assigned · Resource ID: (empty) → “x”",
        ),
        (
            change("link_changed", old_links=("/a",), new_links=()),
            "changed",
            "User assigned · Azure Government link: /a → (no link)",
        ),
        (change("entity_renamed", old_entity="Azure Map"), "renamed", "renamed from “Azure Map”"),
        (change("entity_moved", old_section="Old"), "renamed", "moved from section “Old”"),
        (
            change("entity_moved", entity="", old_section=""),
            "renamed",
            "section renamed from (no heading)",
        ),
        (
            change(
                "attribute_added", row="", row_label="", new_raw="Preview", new_status="preview"
            ),
            "added",
            "Azure Government added: Preview",
        ),
        (change("entity_removed"), "removed", "removed from the page"),
        (change("section_added", entity=""), "added", "section added"),
        (
            change("format_changed", old_raw="376 records", new_raw="47 records"),
            "format",
            "page format changed: 376 records → 47 records",
        ),
    ],
)
def test_each_kind_in_words(c: Change, mark: str, text: str) -> None:
    line = describe(c)
    assert (line.mark, line.text) == (mark, text)


def test_known_clouds_have_their_short_names_everywhere() -> None:
    page_header = "All Generally Available<br>Global Azure Regions"
    assert column_name("global", page_header) == "Global Azure"
    assert column_name("china", "Azure China 21Vianet") == "Azure China"
    assert column_name("documentation", "Documentation<br>link") == "Documentation link"
    c = change(
        "entity_added",
        row="",
        column="",
        cells=(
            cell("System assigned", page_header, "global", "Available", "available"),
            cell("System assigned", "Azure China 21Vianet", "china", "Preview", "preview"),
        ),
    )
    [detail] = describe(c).details
    assert detail.text() == "System assigned: Global Azure: Available · Azure China: Preview"
    moved = change("status_changed", column="global", column_label=page_header)
    assert describe(moved).where == "User assigned · Global Azure"


def test_an_identity_type_is_the_whole_place() -> None:
    c = change(
        "status_changed",
        entity="Microsoft.Web/sites",
        column=IDENTITY_COLUMN,
        column_label="Identity types(s)",
        old_status="available",
        new_status="not_available",
        severity="warning",
    )
    assert describe(c).text == "User assigned: Available → Not available"
    assert sentence(c) == "Microsoft.Web/sites · User assigned: Available → Not available"
    assert sentence(change("entity_renamed", old_entity="X")) == "Azure Maps: renamed from “X”"


def test_a_section_of_resource_types_is_counted_and_listed() -> None:
    cells = tuple(
        Record(
            section="Types",
            entity=name,
            row=row,
            column="Identity types(s)",
            raw="",
            status=status,  # type: ignore[arg-type]
            section_key="types",
            entity_key=name.lower(),
            row_key=row.lower().replace(" ", "_"),
            column_key=IDENTITY_COLUMN,
        )
        for name, row, status in (
            ("A/b", "System assigned", "available"),
            ("A/b", "User assigned", "preview"),
            ("C/d", "System assigned", "available"),
            ("C/d", "User assigned", "not_available"),
        )
    )
    line = describe(change("section_added", entity="", section="Types", cells=cells))
    assert line.text == "section added: 2 resource types (System assigned 2, User assigned 1)"
    assert line.listing == ("A/b: System assigned, User assigned (preview)", "C/d: System assigned")


def test_messages_cut_long_values_the_terminal_and_reparse_do_not() -> None:
    long = "x" * (MAX_VALUE * 2)
    c = change("value_changed", old_raw="a", new_raw=long)
    cut = describe(c)
    assert cut.new is not None and len(cut.new) == MAX_VALUE + 2  # the quotes
    assert cut.new.endswith("…”")
    assert describe(c, cut=False).new == f"“{long}”"
    assert long in sentence(c)


def test_page_text_is_one_clean_line() -> None:
    assert clean("a\r\nBcc: x\x00y\u2028z") == "a Bcc: x y z"
    assert clean("caf\udce9") == "caf\ufffd"
    assert clean("Linux: Preview<br/>Windows: Not available") == (
        "Linux: Preview; Windows: Not available"
    )
    hostile = change("value_changed", old_raw="a\nb", new_raw="c")
    assert "\n" not in describe(hostile).text
    # Plain ASCII text takes a shorter way through; it ends as the long way would leave it.
    assert clean("  Available ") == "Available"
    assert clean("a  b\tc") == "a b c" and clean("a\x7fb") == "a b"
    assert clean("a<BR>b", br=" / ") == "a / b" and clean("x" * 10, 5) == "xxxx…"


def test_a_pipe_line_keeps_text_as_stored_but_on_one_line() -> None:
    assert one_line("  a  b ") == "  a  b "  # nothing collapsed: a pipe shows the cell
    assert one_line("a\r\nb\tc\x7f") == "a b c " and one_line("x\u2028y") == "x y"
    assert one_line("gpj\u202eexe.jpg\u200e") == "gpj\ufffdexe.jpg"


def test_every_status_has_its_label() -> None:
    assert set(STATUS_LABEL) == set(STATUSES)


def test_the_terminal_and_the_messages_say_the_same() -> None:
    """A change-log row as `watcher changes` prints it, and the same change in a message."""
    c = change("status_changed", old_status="not_available", new_status="available")
    row = {
        "kind": c.kind,
        "severity": c.severity,
        "section": c.section,
        "entity": c.entity,
        "row": c.row,
        "column": c.column,
        "row_label": c.row_label,
        "column_label": c.column_label,
        "old_status": c.old_status,
        "new_status": c.new_status,
        "old_raw": None,
        "new_raw": None,
        "old_links": [],
        "new_links": [],
    }
    words = describe_change(row)
    assert words == "User assigned · Azure Government: Not available → Available"
    cs = ChangeSet("s", "team", 2, datetime(2021, 1, 1, tzinfo=UTC), (c,), from_snapshot=1)
    assert f"▲ {words}" in render_changes(cs, "k").text
