"""`watcher demo`: the whole pipeline offline on the bundled real pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cliutil import run, run_json


def test_demo_checks_every_bundled_version_and_prints_the_change_log(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    out = run("demo", db=db).stdout
    lines = out.splitlines()
    assert lines[0].startswith("Serving the bundled page history")
    assert "page of 2019-06-19: demo-azure-managed-identities: snapshot 1 baseline stored" in out
    # The move from the matrix page to the status page is a change of format: quarantined,
    # confirmed by two more checks, then recorded as one event, not hundreds of removals.
    assert "page of 2021-12-08: demo-azure-managed-identities: snapshot 4 QUARANTINED" in out
    assert "format change accepted (confirmed by 2 later checks)" in out
    assert "User assigned · Azure Government: Preview → Available" in out
    assert "Change log (" in out

    snaps = run_json("snapshots", db=db)
    assert [s["state"] for s in snaps] == ["accepted"] * 6
    changes = run_json("changes", db=db)
    formats = [c for c in changes if c["kind"] == "format_changed"]
    assert len(formats) == 1 and formats[0]["to_snapshot"] == snaps[3]["id"]
    assert not [c for c in changes if c["to_snapshot"] == snaps[3]["id"] and c is not formats[0]]


def test_the_demo_stores_each_version_at_its_page_date(tmp_path: Path) -> None:
    """As `watcher import` does: the demo's database holds the page's history as it was, so
    asking it about 2021-06-01 finds the page of 2021-01-28, not today's."""
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    run("demo", db=db)
    snaps = run_json("snapshots", db=db)
    assert [s["fetched_at"] for s in snaps] == [f"{s['doc_date']}T00:00:00Z" for s in snaps], (
        "each snapshot is stored at the start of its ms.date, UTC"
    )
    assert [s["origin"] for s in snaps] == ["fetch"] * 6  # still checked over HTTP
    (state,) = {r["snapshot"] for r in run_json("state", "--at", "2021-06-01", db=db)}
    assert state == snaps[1]["id"]


def test_demo_uses_a_temporary_database_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    run("demo")
    assert not list(tmp_path.iterdir()), "the demo left files in the working directory"
