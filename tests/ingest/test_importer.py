"""`watcher import` and `watcher changes` end to end on the real en/ page history."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN, STATUS_CHAIN

CHANGE_FIELDS = {
    "id",
    "source",
    "detected_at",
    "from_snapshot",
    "to_snapshot",
    "kind",
    "severity",
    "section",
    "entity",
    "old_entity",
    "row",
    "column",
    "old_raw",
    "new_raw",
    "old_status",
    "new_status",
}


def test_import_en_chain_reports_api_management_usgov_promotion(db_url: str) -> None:
    out = run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url).stdout
    assert "baseline stored" in out

    snaps = run_json("snapshots", db=db_url)
    assert [s["doc_date"] for s in snaps] == ["2019-06-19", "2021-01-28", "2021-11-09"]
    assert [s["state"] for s in snaps] == ["accepted"] * 3
    assert [s["origin"] for s in snaps] == ["import"] * 3

    rows = run_json("changes", "--source", "mi", db=db_url)
    assert rows, "the three versions differ, so there are changes"
    assert set(rows[0]) >= CHANGE_FIELDS
    # The first version is the baseline: every change is from snapshot 1→2 or 2→3.
    assert {r["from_snapshot"] for r in rows} == {snaps[0]["id"], snaps[1]["id"]}
    wanted = [
        r
        for r in rows
        if r["entity"] == "Azure API Management"
        and r["row"] == "user_assigned"
        and r["column"] == "usgov"
    ]
    # Not available in 2019, Preview on 2021-01-28, Available on 2021-11-09.
    assert [
        (
            r["kind"],
            r["severity"],
            r["old_status"],
            r["new_status"],
            r["from_snapshot"],
            r["to_snapshot"],
            r["detected_at"][:10],
        )
        for r in wanted
    ] == [
        (
            "status_changed",
            "notice",
            "not_available",
            "preview",
            snaps[0]["id"],
            snaps[1]["id"],
            "2021-01-28",
        ),
        (
            "status_changed",
            "notice",
            "preview",
            "available",
            snaps[1]["id"],
            snaps[2]["id"],
            "2021-11-09",
        ),
    ]

    # The person-readable log says it the way the page does.
    table = run("changes", "--source", "mi", "--entity", "azure api management", db=db_url).stdout
    assert "Azure API Management" in table
    assert "User assigned · Azure Government: Preview → Available" in table


def test_importing_the_same_files_again_adds_nothing(db_url: str) -> None:
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    before_snaps = run_json("snapshots", db=db_url)
    before_changes = run_json("changes", db=db_url)

    out = run("import", str(EN_CHAIN[2]), "--source", "mi", db=db_url).stdout
    assert "no change" in out
    out = run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url).stdout
    assert out.count("no change") == 3

    assert run_json("snapshots", db=db_url) == before_snaps
    assert run_json("changes", db=db_url) == before_changes


def test_import_without_notify_queues_nothing_and_baseline_has_no_changes(
    db_url: str, tmp_path: object
) -> None:
    run("import", str(EN_CHAIN[0]), "--source", "mi", db=db_url)
    assert run_json("changes", db=db_url) == []


def test_changes_filters_and_csv(db_url: str) -> None:
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    usgov = run_json("changes", "--column", "usgov", "--kind", "status_changed", db=db_url)
    assert usgov and all(r["column"] == "usgov" for r in usgov)
    assert all(r["kind"] == "status_changed" for r in usgov)
    since = run_json("changes", "--since", "2021-06-01", db=db_url)
    assert since and all(r["detected_at"] >= "2021-06-01" for r in since)
    until = run_json("changes", "--until", "2021-01-28", db=db_url)
    assert until and all(r["detected_at"].startswith("2021-01-28") for r in until)
    warnings = run_json("changes", "--severity", "warning", db=db_url)
    assert all(r["severity"] == "warning" for r in warnings)

    csv_out = run("changes", "--format", "csv", "--column", "usgov", db=db_url).stdout
    header, *lines = csv_out.splitlines()
    assert header.split(",")[:16] == [
        "id",
        "source",
        "detected_at",
        "from_snapshot",
        "to_snapshot",
        "kind",
        "severity",
        "section",
        "entity",
        "old_entity",
        "row",
        "column",
        "old_raw",
        "new_raw",
        "old_status",
        "new_status",
    ]
    assert len(lines) == len(run_json("changes", "--column", "usgov", db=db_url))


def test_import_needs_a_date(db_url: str, tmp_path: object) -> None:
    from pathlib import Path

    page = Path(str(tmp_path)) / "page.md"
    page.write_text(
        "# A page\n\n| Cloud | Status |\n| --- | --- |\n| Azure Government | Available |\n"
    )
    result = run("import", str(page), "--source", "x", db=db_url, code=1)
    assert "ms.date" in result.stderr and "--at" in result.stderr
    run("import", str(page), "--source", "x", "--at", "2024-01-02T03:04:05Z", db=db_url)
    (snap,) = run_json("snapshots", db=db_url)
    assert snap["fetched_at"] == "2024-01-02T03:04:05Z"


def undated_page(tmp_path: Path) -> Path:
    page = tmp_path / "undated.md"
    page.write_text(
        "# A page\n\n| Cloud | Status |\n| --- | --- |\n| Azure Government | Available |\n"
    )
    return page


def test_an_import_that_stops_midway_says_how_many_files_it_stored(
    db_url: str, tmp_path: Path
) -> None:
    undated = undated_page(tmp_path)
    files = [EN_CHAIN[0], EN_CHAIN[1], undated, EN_CHAIN[2]]
    result = run("import", *map(str, files), "--source", "mi", db=db_url, code=1)
    # Each file's line came as it was stored; the import then stops at the third.
    assert result.stdout == (
        f"{EN_CHAIN[0]}: mi: snapshot 1 baseline stored (144 records)\n"
        f"{EN_CHAIN[1]}: mi: snapshot 2 70 change(s), 0 notification(s) queued\n"
    )
    assert result.stderr == (
        f"watcher: import stopped at {undated}: the page has no ms.date (give --at); "
        "2 of 4 files stored before it\n"
    )
    assert [s["doc_date"] for s in run_json("snapshots", db=db_url)] == [
        "2019-06-19",
        "2021-01-28",
    ]


def test_a_page_older_than_the_stored_history_stops_the_import(db_url: str) -> None:
    files = [EN_CHAIN[1], EN_CHAIN[2], EN_CHAIN[0]]
    result = run("import", *map(str, files), "--source", "mi", db=db_url, code=1)
    assert result.stdout.count("\n") == 2
    assert result.stderr == (
        f"watcher: import stopped at {EN_CHAIN[0]}: 2019-06-19T00:00:00+00:00 is older than "
        "the latest snapshot of mi (2021-11-09T00:00:00+00:00); store history oldest first; "
        "2 of 3 files stored before it\n"
    )
    assert len(run_json("snapshots", db=db_url)) == 2


def test_on_a_terminal_many_files_get_a_progress_bar_above_which_each_line_prints(
    tmp_path: Path,
) -> None:
    files = [*EN_CHAIN, *STATUS_CHAIN]
    db = f"sqlite:///{tmp_path / 'w.db'}"
    argv = [sys.executable, "-m", "watcher", "--db", db, "import", *map(str, files)]
    main, terminal = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "250", "LINES": "40"}
    proc = subprocess.Popen(
        [*argv, "--source", "mi"], stdout=terminal, stderr=subprocess.PIPE, env=env
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    text = shown.decode()
    assert "importing" in text and "━" in text, text  # rich's bar
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "")
    for n, path in enumerate(files, start=1):
        assert f"{path}: mi: snapshot {n} " in plain, plain
    assert len(run_json("snapshots", db=db)) == len(files)
