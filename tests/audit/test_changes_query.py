"""`watcher changes` filtered in the query, paged and streamed, answers exactly as the change
log filtered in Python did: on the real page history, for each filter and their mixes, the
JSON, CSV and table output are the same bytes as the whole log read and filtered the old way
(a glob matched with fnmatch, case-insensitive, on the entity or its old name)."""

from __future__ import annotations

import csv
import io
import json
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.cliutil import run
from tests.conftest import EN_CHAIN, STATUS_CHAIN, later_2025
from watcher.audit.changes import CHANGE_FIELDS, change_row
from watcher.domain.document import SEVERITY_RANK
from watcher.domain.times import parse_when
from watcher.storage.engine import make_engine, session_factory
from watcher.storage.models import ChangeRow, Source

FILTERS: list[tuple[str, ...]] = [
    (),
    ("--entity", "Azure Functions"),
    ("--entity", "azure FUNCTIONS"),
    ("--entity", "Azure Kubernetes*"),
    ("--entity", "*[Ss]ql*"),
    ("--entity", "Microsoft.Web/?ites"),
    ("--entity", "*_*"),  # SQL's wildcards are plain characters in a glob
    ("--entity", "%"),
    ("--entity", "*"),
    ("--entity", "no such entity"),
    ("--column", "usgov"),
    ("--kind", "entity_added"),
    ("--kind", "link_changed"),
    ("--severity", "warning"),
    ("--severity", "notice", "--column", "global"),
    ("--since", "2021-01-01", "--until", "2021-12-31"),
    ("--since", "2025-06-01"),
    ("--source", "status", "--entity", "Microsoft.*"),
    ("--source", "mi", "--kind", "status_changed", "--entity", "Azure *"),
]


@pytest.fixture
def history(db_url: str, tmp_path: Path) -> str:
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    pages = [*map(str, STATUS_CHAIN), str(later_2025(tmp_path))]
    run("import", *pages, "--source", "status", db=db_url)
    return db_url


def old_rows(db_url: str, args: tuple[str, ...]) -> list[dict[str, Any]]:
    """The change log as `watcher changes` listed it before: every change read, in the
    log's order, and filtered in Python."""
    given = dict(zip(args[::2], args[1::2], strict=True))
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        q = (
            select(ChangeRow, Source.name)
            .join(Source, Source.id == ChangeRow.source_id)
            .order_by(ChangeRow.detected_at, ChangeRow.to_snapshot_id, ChangeRow.position)
        )
        found = [change_row(c, name) for c, name in session.execute(q) if wanted(c, given)]
    engine.dispose()
    return [
        r
        for r in found
        if given.get("--source") in (None, r["source"])
        and ("--since" not in given or r["detected_at"] >= iso(given["--since"], False))
        and ("--until" not in given or r["detected_at"] < iso(given["--until"], True))
    ]


def iso(text: str, end_of_day: bool) -> str:
    return parse_when(text, end_of_day=end_of_day).isoformat()[:-6] + "Z"


def wanted(c: ChangeRow, given: dict[str, str]) -> bool:
    if "--entity" in given:
        pattern = given["--entity"].casefold()
        names = (c.entity, c.old_entity)
        if not any(n and fnmatchcase(n.casefold(), pattern) for n in names):
            return False
    minimum = SEVERITY_RANK[given.get("--severity", "info")]
    return (
        given.get("--column") in (None, c.column)
        and given.get("--kind") in (None, c.kind)
        and SEVERITY_RANK[c.severity] >= minimum
    )


def old_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n"


def old_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CHANGE_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: ""
                if v is None
                else json.dumps(v, ensure_ascii=False)
                if isinstance(v, list)
                else v
                for k, v in row.items()
            }
        )
    return out.getvalue()


def test_every_filter_answers_the_same_bytes_as_the_log_filtered_in_python(
    history: str,
) -> None:
    every = old_rows(history, ())
    assert len(every) > 100 and any(r["old_links"] for r in every)  # arrays are written too
    assert any(r["old_entity"] for r in every)  # renames: a glob also matches the old name
    for args in FILTERS:
        rows = old_rows(history, args)
        said = run("changes", *args, "--format", "json", db=history).stdout
        assert said == old_json(rows), args
        assert run("changes", *args, "--format", "csv", db=history).stdout == old_csv(rows), args
    counts = {args: len(old_rows(history, args)) for args in FILTERS}
    # The filters are not vacuous: each keeps some and drops some (but the ones meant not to).
    assert counts[("--entity", "no such entity")] == counts[("--entity", "%")] == 0
    assert counts[("--entity", "*")] < counts[()]  # a whole-page change names no entity
    assert 0 < counts[("--entity", "Azure Kubernetes*")] < counts[()]
    assert counts[("--entity", "Azure Functions")] == counts[("--entity", "azure FUNCTIONS")] > 0


def test_the_table_shows_the_rows_it_showed_before(history: str) -> None:
    from watcher.cli.output import print_change_log
    from watcher.delivery.outbox import section_summaries

    engine = make_engine(history)
    for args in (("--entity", "Azure Kubernetes*"), ("--since", "2021-01-01")):
        rows = old_rows(history, args)
        out = io.StringIO()
        with session_factory(engine)() as session:
            print_change_log(rows, out, summaries=section_summaries(session, rows))
        assert run("changes", *args, db=history).stdout == out.getvalue(), args
    engine.dispose()


def test_pages_of_limit_rows_after_a_cursor_make_up_the_whole_log(history: str) -> None:
    for args in ((), ("--entity", "Azure *"), ("--column", "usgov")):
        whole = json.loads(run("changes", *args, "--format", "json", db=history).stdout)
        pages: list[list[dict[str, Any]]] = []
        after: list[str] = []
        while True:
            argv = (*args, "--limit", "7", *after, "--format", "json")
            page = json.loads(run("changes", *argv, db=history).stdout)
            if not page:
                break
            pages.append(page)
            after = ["--after", str(page[-1]["id"])]
        assert [r for p in pages for r in p] == whole, args
        assert all(len(p) == 7 for p in pages[:-1]) and len(pages) > 2


def test_a_cursor_naming_no_change_is_one_line_of_error(history: str) -> None:
    result = run("changes", "--after", "999999", db=history, code=2)
    assert result.stderr == "watcher: no change 999999 to page on from\n"
