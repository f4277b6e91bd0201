"""`watcher reparse`: stored pages re-read with the current parser; what an older parser
misread is reported and repaired, and a waiting notification carries the repaired changes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import delete, func, select

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN
from watcher.storage import records
from watcher.storage.engine import make_engine, session_factory
from watcher.storage.models import ChangeRow, RecordSet, Snapshot


def misread_by_an_older_parser(db_url: str, snapshot: int) -> None:
    """Pretend an older parser had read APIM · User assigned · usgov on 2021-11-09 as Preview."""
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        snap = s.get_one(Snapshot, snapshot)
        misread = [
            replace(r, raw="Preview", status="preview")
            if (r.entity, r.row_key, r.column_key)
            == ("Azure API Management", "user_assigned", "usgov")
            else r
            for r in records.of_snapshot(s, snapshot)
        ]
        snap.records_id = records.store(s, misread)
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
    # The misread set is gone with the misreading: one set per version, as imported.
    engine = make_engine(db_url)
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(RecordSet)) == len(EN_CHAIN)
    engine.dispose()


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


def test_reparse_restores_a_snapshot_whose_record_set_was_lost(db_url: str) -> None:
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db_url)
    state = run_json("state", db=db_url)
    changes = run_json("changes", db=db_url)
    engine = make_engine(db_url)
    with session_factory(engine).begin() as s:
        last = s.scalars(select(Snapshot).order_by(Snapshot.id.desc())).first()
        assert last is not None
        s.execute(delete(RecordSet).where(RecordSet.id == last.records_id))
    engine.dispose()
    # The page is kept whole: parsing it again gives the records back, and nothing else moves.
    assert "records would change in 1" in run("reparse", "--dry-run", db=db_url).stdout
    run("reparse", db=db_url)
    assert run_json("state", db=db_url) == state
    assert run_json("changes", db=db_url) == changes


def test_reparse_collects_sets_an_earlier_run_left_behind(db_url: str) -> None:
    """The collection runs after the reparse commits: if it failed then (a lost connection),
    the sets stay behind until a reparse runs again, even one that re-reads nothing."""
    run("import", "--source", "mi", *map(str, EN_CHAIN), db=db_url)
    engine = make_engine(db_url)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        left = replace(records.of_snapshot(s, 1)[0], raw="left behind")
        orphan = records.store(s, [left])
    assert "no stored change is altered" in run("reparse", db=db_url).stdout
    with sessions() as s:
        assert s.get(RecordSet, orphan) is None
        assert s.scalar(select(func.count()).select_from(RecordSet)) == len(EN_CHAIN)
    engine.dispose()
