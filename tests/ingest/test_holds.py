"""An operator decides what the guard held: `watcher accept` on a chain of held snapshots,
`watcher reject`, and the guard's settings per source, through the real command line."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN, STATUS_CHAIN
from tests.ingest.test_holds_hostile import (
    EN_0128,
    EN_1109,
    S_1208,
    S_2023,
    SIGN_IN,
    check,
    expected_changes,
    without_services,
    write_config,
)
from tests.origin import Origin, serve_origin


def test_accept_on_a_chain_of_held_snapshots_then_reject(tmp_path: Path, db_url: str) -> None:
    with serve_origin(Origin()) as origin:
        config = write_config(tmp_path, origin.url)
        for body in (EN_1109, S_1208, SIGN_IN, S_2023):
            origin.body = body
            check(db_url, config)
    states = [(s["id"], s["state"]) for s in run_json("snapshots", db=db_url)]
    assert states == [(1, "accepted"), (2, "quarantined"), (3, "quarantined"), (4, "quarantined")]

    out = run("accept", "2", db=db_url).stdout.splitlines()
    later = len(expected_changes(S_1208, S_2023))
    assert out[:3] == [
        "mi: snapshot 2 format change accepted (accepted by an operator)",
        "mi: snapshot 3 QUARANTINED: the page has no tables",
        f"mi: snapshot 4 {later} change(s), 0 notification(s) queued",
    ]
    rows = run_json("changes", db=db_url)
    assert [(r["kind"], r["to_snapshot"]) for r in rows[:1]] == [("format_changed", 2)]
    assert len(rows) == 1 + later
    assert {(r["from_snapshot"], r["to_snapshot"]) for r in rows[1:]} == {(2, 4)}
    accepted = run_json("snapshots", db=db_url)[1]
    assert (accepted["state"], accepted["reason"]) == (
        "accepted",
        "accepted by an operator; quarantined because 336 of 336 status cells are gone at once"
        " (more than 50%)",
    )
    # The sign-in page held between them is over once snapshot 4 is accepted.
    assert run_json("snapshots", db=db_url)[2]["reason"] == (
        "the page has no tables; superseded by snapshot 4"
    )

    assert run("reject", "3", "--reason", "a sign-in page", db=db_url).stdout == (
        "mi: snapshot 3 rejected; kept for the audit, never diffed\n"
    )
    rejected = run_json("snapshots", db=db_url)[2]
    assert rejected["state"] == "rejected"
    assert rejected["reason"] == (
        "rejected by an operator: a sign-in page; quarantined because the page has no tables; "
        "superseded by snapshot 4"
    )
    refused = run("accept", "3", db=db_url, code=2)
    assert refused.stderr == "watcher: snapshot 3 is rejected, not quarantined\n"
    refused = run("reject", "1", db=db_url, code=2)
    assert refused.stderr == "watcher: snapshot 1 is accepted, not quarantined\n"
    assert run("reject", "99", db=db_url, code=2).stderr == "watcher: no snapshot 99\n"


def test_a_page_with_no_records_can_only_be_rejected(tmp_path: Path, db_url: str) -> None:
    with serve_origin(Origin()) as origin:
        config = write_config(tmp_path, origin.url)
        origin.body = EN_0128
        check(db_url, config)
        origin.body = SIGN_IN
        check(db_url, config)
    refused = run("accept", "2", db=db_url, code=2)
    assert refused.stderr == (
        "watcher: snapshot 2 has no records (the page has no tables): it cannot be the page's "
        "baseline; `watcher reject 2` keeps it out of the way\n"
    )
    assert [s["state"] for s in run_json("snapshots", db=db_url)] == ["accepted", "quarantined"]


def test_a_rejected_page_served_again_stays_rejected(tmp_path: Path, db_url: str) -> None:
    with serve_origin(Origin()) as origin:
        config = write_config(tmp_path, origin.url)
        origin.body = EN_0128
        check(db_url, config)
        origin.body = SIGN_IN
        check(db_url, config)
        run("reject", "2", db=db_url)
        time.sleep(5.1)  # past the ops route's repeat_every (5s), so the notice is told again
        out = check(db_url, config)
        assert "mi: snapshot 2 QUARANTINED: the page is snapshot 2 again, which an operator" in out
        # Its ops notice says it is decided, and offers no command that would refuse to run.
        assert "An operator rejected it; it stays out of the page's history." in out
        assert "watcher accept 2" not in out and "watcher reject 2" not in out
        origin.body = EN_0128
        assert check(db_url, config).startswith("mi: snapshot 1 no change")
    assert [s["state"] for s in run_json("snapshots", db=db_url)] == ["accepted", "rejected"]


def test_rejecting_a_bad_import_unblocks_older_history(tmp_path: Path, db_url: str) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(SIGN_IN)
    run("import", str(EN_CHAIN[0]), "--source", "mi", db=db_url)
    out = run("import", str(bad), "--source", "mi", "--at", "2030-01-01", db=db_url).stdout
    assert "snapshot 2 QUARANTINED: the page has no tables" in out
    blocked = run("import", str(EN_CHAIN[1]), "--source", "mi", db=db_url, code=1)
    assert blocked.stderr.startswith(
        f"watcher: import stopped at {EN_CHAIN[1]}: 2021-01-28T00:00:00+00:00 is older than"
    )
    assert blocked.stderr.endswith("; 0 of 1 files stored before it\n")
    assert "`watcher reject 2` takes it out of the way" in blocked.stderr
    run("reject", "2", db=db_url)
    run("import", str(EN_CHAIN[1]), str(EN_CHAIN[2]), "--source", "mi", db=db_url)
    snaps = run_json("snapshots", db=db_url)
    assert [s["state"] for s in snaps] == ["accepted", "accepted", "accepted", "rejected"]
    # The same change log as importing the real history alone.
    run("import", *map(str, EN_CHAIN), "--source", "clean", db=db_url)
    keep = ("kind", "entity", "row", "column", "old_raw", "new_raw")
    mine = [tuple(r[k] for k in keep) for r in run_json("changes", "--source", "mi", db=db_url)]
    clean = [tuple(r[k] for k in keep) for r in run_json("changes", "--source", "clean", db=db_url)]
    assert mine == clean and mine


def test_an_operator_accepting_a_held_loss_gets_its_removals(tmp_path: Path, db_url: str) -> None:
    half = without_services(EN_0128, 9)
    with serve_origin(Origin()) as origin:
        config = write_config(tmp_path, origin.url)
        origin.body = EN_0128
        check(db_url, config)
        origin.body = half
        check(db_url, config)
    n = len(expected_changes(EN_0128, half))
    assert run("accept", "2", db=db_url).stdout == (
        f"mi: snapshot 2 accepted (accepted by an operator): {n} change(s), "
        "0 notification(s) queued\n"
    )
    kinds = {r["kind"] for r in run_json("changes", db=db_url)}
    assert kinds <= {"entity_removed", "section_removed"}


def test_guard_settings_are_per_source_and_validated(tmp_path: Path, db_url: str) -> None:
    with serve_origin(Origin()) as origin:
        config = write_config(tmp_path, origin.url, "[sources.guard]\nconfirmations = 1\n")
        origin.body = EN_1109
        check(db_url, config)
        origin.body = STATUS_CHAIN[0].read_bytes()
        check(db_url, config)
        assert "format change accepted (confirmed by 1 later checks)" in check(db_url, config)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[sources]]\nname = "mi"\nurl = "https://example.org/p.md"\n'
        "[sources.guard]\nconfirmation = 3\n"
    )
    out = run("--config", str(bad), "config", "check", code=2)
    assert out.stderr.startswith(f"watcher: {bad}: sources[0].guard.confirmation: ")
    bad.write_text(
        '[[sources]]\nname = "mi"\nurl = "https://example.org/p.md"\n'
        "[sources.guard]\nsecond_look_removed_share = 5\n"
    )
    out = run("--config", str(bad), "config", "check", code=2)
    assert out.stderr.startswith(f"watcher: {bad}: sources[0].guard.second_look_removed_share: ")
