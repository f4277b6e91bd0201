"""Real pages through `watcher import` and `watcher check`: a translated or reformatted page
is quarantined, never diffed into hundreds of changes; a later version in the new format
confirms it, and `watcher accept` makes it the new baseline with one format change."""

from __future__ import annotations

from pathlib import Path

from tests.cliutil import run, run_json
from tests.conftest import CORPUS, EN_CHAIN, STATUS_CHAIN

JA = CORPUS / "localized" / "ja-JP_2021-01-28.md"


def test_japanese_page_after_english_of_same_date_is_quarantined(db_url: str) -> None:
    run("import", str(EN_CHAIN[1]), "--source", "mi", db=db_url)
    out = run("import", str(JA), "--source", "mi", db=db_url).stdout
    assert "QUARANTINED" in out
    snaps = run_json("snapshots", db=db_url)
    assert [s["state"] for s in snaps] == ["accepted", "quarantined"]
    # Same ms.date: the argument order decides and the times are made distinct.
    assert snaps[0]["fetched_at"] < snaps[1]["fetched_at"]
    assert snaps[1]["fetched_at"].startswith("2021-01-28")
    assert run_json("changes", db=db_url) == []
    # The next real version diffs against the last accepted English page, not the translation.
    run("import", str(EN_CHAIN[2]), "--source", "mi", db=db_url)
    rows = run_json("changes", db=db_url)
    assert rows and {r["from_snapshot"] for r in rows} == {snaps[0]["id"]}


def test_accept_by_hand_records_one_format_change(db_url: str) -> None:
    run("import", str(EN_CHAIN[2]), "--source", "mi", db=db_url)
    run("import", str(STATUS_CHAIN[0]), "--source", "mi", db=db_url)
    quarantined = run_json("snapshots", db=db_url)[1]
    assert quarantined["state"] == "quarantined"
    out = run("accept", str(quarantined["id"]), db=db_url).stdout
    assert "format change accepted" in out
    rows = run_json("changes", db=db_url)
    assert [r["kind"] for r in rows] == ["format_changed"]
    assert rows[0]["severity"] == "warning"
    assert run("accept", str(quarantined["id"]), db=db_url, code=2).stderr.startswith("watcher: ")
    # The status page is now the baseline: the next version diffs against it.
    run("import", str(STATUS_CHAIN[1]), "--source", "mi", db=db_url)
    rows = run_json("changes", "--kind", "entity_renamed", db=db_url)
    assert any(r["entity"] == "Azure AI services" for r in rows)


def test_a_later_version_in_the_new_format_confirms_a_format_change(db_url: str) -> None:
    """Imports and backfills see each body once: the next version, read like the quarantined
    one, is what confirms the switch from the matrix page to the status page."""
    run("import", str(EN_CHAIN[2]), *map(str, STATUS_CHAIN), "--source", "mi", db=db_url)
    snaps = run_json("snapshots", db=db_url)
    assert [s["state"] for s in snaps] == ["accepted"] * 4
    rows = run_json("changes", db=db_url)
    formats = [r for r in rows if r["kind"] == "format_changed"]
    assert len(formats) == 1 and formats[0]["to_snapshot"] == snaps[1]["id"]
    assert not [
        r for r in rows if r["to_snapshot"] == snaps[1]["id"] and r["kind"] != "format_changed"
    ]
    renamed = run_json("changes", "--kind", "entity_renamed", db=db_url)
    assert any(
        r["entity"] == "Azure AI services" and r["from_snapshot"] == snaps[1]["id"] for r in renamed
    )
    # A translation followed by a real English version stays quarantined.
    run("import", str(EN_CHAIN[1]), "--source", "other", db=db_url)
    run("import", str(JA), str(EN_CHAIN[2]), "--source", "other", db=db_url)
    other = run_json("snapshots", "--source", "other", db=db_url)
    assert [s["state"] for s in other] == ["accepted", "quarantined", "accepted"]
    # An old quarantined page cannot be pushed into the accepted history after the fact.
    refused = run("accept", str(other[1]["id"]), db=db_url, code=2)
    assert "older than accepted snapshot" in refused.stderr


def test_a_format_change_accepted_on_import_says_the_notification_it_queued(
    db_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "w.toml"
    config.write_text('[[routes]]\nname = "console"\nchannel = "stdout"\n', encoding="utf-8")
    run("import", str(EN_CHAIN[2]), "--source", "mi", db=db_url, config=str(config))
    out = run(
        "import", *map(str, STATUS_CHAIN[:2]), "--source", "mi", "--notify",
        db=db_url, config=str(config),
    ).stdout  # fmt: skip
    # The second page confirmed the first (held: a new format), whose change set was queued.
    assert "(first snapshot 2 format change accepted (confirmed by a later version in the same " \
        "format), 1 notification(s) queued)" in out  # fmt: skip
    assert len(run_json("notifications", db=db_url, config=str(config))) == 2
