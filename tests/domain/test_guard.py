"""The guard on real pages: a translated, broken or reformatted page is quarantined, never
diffed into hundreds of changes; confirmation and `watcher accept` make it the new baseline."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, update

from tests.cliutil import run, run_json
from tests.conftest import CORPUS, EN_CHAIN, STATUS_CHAIN
from watcher.domain.document import Document
from watcher.domain.guard import judge
from watcher.parse import parse
from watcher.storage.engine import make_engine, session_factory
from watcher.storage.models import ChangeRow, RecordRow

JA = CORPUS / "localized" / "ja-JP_2021-01-28.md"


def doc(path: Path) -> Document:
    return parse(path.read_bytes(), "markdown")


def test_judge_on_real_pages() -> None:
    en_2019, en_2021, en_2021_11 = (doc(p) for p in EN_CHAIN)
    assert judge(None, en_2021).accepted
    assert judge(en_2019, en_2021).accepted
    assert judge(en_2021, en_2021_11).accepted
    # Translated: the status words are unknown to the vocabulary.
    ja = judge(en_2021, doc(JA))
    assert not ja.accepted and "unreadable" in (ja.reason or "")
    # The matrix page replaced by the flat status page: the availability matrix is gone.
    flat = judge(en_2021_11, doc(STATUS_CHAIN[0]))
    assert not flat.accepted and "status cells are gone" in (flat.reason or "")
    # A page with no tables at all, and one that lost most of its services.
    empty = judge(en_2021, parse(b"# Services\n\nNothing here today.\n", "markdown"))
    assert not empty.accepted and "no tables" in (empty.reason or "")
    half = Document(records=en_2021.records[: len(en_2021.records) // 4], tables=10)
    lost = judge(en_2021, half)
    assert not lost.accepted and "entities are gone" in (lost.reason or "")
    # Status pages in a row are fine: they have no status cells to lose.
    assert judge(doc(STATUS_CHAIN[0]), doc(STATUS_CHAIN[1])).accepted
    assert judge(doc(STATUS_CHAIN[1]), doc(STATUS_CHAIN[2])).accepted


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


def misread_by_an_older_parser(db_url: str, snapshot: int) -> None:
    """Pretend an older parser had read APIM · User assigned · usgov on 2021-11-09 as Preview."""
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        s.execute(
            update(RecordRow)
            .where(
                RecordRow.snapshot_id == snapshot,
                RecordRow.entity == "Azure API Management",
                RecordRow.row_key == "user_assigned",
                RecordRow.column_key == "usgov",
            )
            .values(raw="Preview", status="preview")
        )
        s.execute(
            delete(ChangeRow).where(
                ChangeRow.to_snapshot_id == snapshot,
                ChangeRow.entity == "Azure API Management",
                ChangeRow.row == "user_assigned",
                ChangeRow.column == "usgov",
            )
        )
    engine.dispose()


def test_reparse_reports_and_repairs_what_an_older_parser_misread(db_url: str) -> None:
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    before = run_json("changes", db=db_url)
    snaps = [s["id"] for s in run_json("snapshots", db=db_url)]
    misread_by_an_older_parser(db_url, snaps[2])

    dry = run("reparse", "--dry-run", db=db_url).stdout
    assert "records would change in 1" in dry
    assert f"snapshot {snaps[1]} → {snaps[2]}" in dry
    assert "+ Azure API Management · User assigned · Azure Government: Preview → Available" in dry
    assert len(run_json("changes", db=db_url)) == len(before) - 1

    run("reparse", db=db_url)
    after = run_json("changes", db=db_url)
    strip = [{k: v for k, v in r.items() if k != "id"} for r in before]
    assert [{k: v for k, v in r.items() if k != "id"} for r in after] == strip
    assert "no stored change is altered" in run("reparse", db=db_url).stdout


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


def test_reparse_repairs_the_changes_a_pending_notification_carries(
    db_url: str, tmp_path: Path
) -> None:
    """A waiting notification names its changes by id: reparse replaces the rows at once and
    points the notification at the new ones, so it sends the page as the parser reads it."""
    config = tmp_path / "watcher.toml"
    config.write_text('[[routes]]\nname = "team"\nchannel = "stdout"\n')
    cfg = str(config)
    run("import", *map(str, EN_CHAIN), "--source", "mi", "--notify", db=db_url, config=cfg)
    before = run_json("changes", db=db_url)
    snaps = [s["id"] for s in run_json("snapshots", db=db_url)]
    misread_by_an_older_parser(db_url, snaps[2])

    out = run("reparse", db=db_url, config=cfg).stdout
    assert f"snapshot {snaps[1]} → {snaps[2]}" in out
    assert "1 waiting notification(s) carry them now" in out
    after = run_json("changes", db=db_url)
    strip = [{k: v for k, v in r.items() if k != "id"} for r in before]
    assert [{k: v for k, v in r.items() if k != "id"} for r in after] == strip
    assert "no stored change is altered" in run("reparse", db=db_url, config=cfg).stdout

    sent = run("dispatch", "--linger", "0", db=db_url, config=cfg).stdout
    message = sent.split(f"snapshot {snaps[1]} → {snaps[2]},")[1]
    apim = message.split("\nAzure API Management\n")[1].split("\n\n")[0]
    assert "▲ User assigned · Azure Government: Preview → Available" in apim
    assert "2 sent, 0 dead" in sent
