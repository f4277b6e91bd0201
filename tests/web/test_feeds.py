"""The Atom feed of the change log: valid Atom (read by feedparser), one entry per change
set, newest first, ids that do not move, and the command line's filters as parameters (a team
subscribes to "usgov regressions")."""

from __future__ import annotations

from itertools import groupby

import feedparser
from starlette.testclient import TestClient

from tests.cliutil import run_json
from watcher.audit.changes import describe_change


def _feed(client: TestClient, query: str = "") -> feedparser.FeedParserDict:
    r = client.get(f"/feeds/changes.atom{query}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


def _sets(rows: list[dict]) -> list[tuple[int, list[dict]]]:
    pairs = groupby(rows, key=lambda r: r["to_snapshot"])
    return sorted(((k, list(g)) for k, g in pairs), key=lambda s: -s[0])


def test_one_entry_per_change_set_newest_first(client: TestClient, history_db: str) -> None:
    feed = _feed(client)
    sets = _sets(run_json("changes", db=history_db))
    assert len(feed.entries) == len(sets) == 5
    for entry, (to_snapshot, rows) in zip(feed.entries, sets, strict=True):
        first = rows[0]
        assert (
            entry.title
            == f"mi: {len(rows)} change(s), snapshot {first['from_snapshot']} → {to_snapshot}"
        )
        assert entry.updated == first["detected_at"]
        assert entry.link.endswith(f"/diff?old={first['from_snapshot']}&new={to_snapshot}")
        lines = entry.content[0].value.splitlines()
        assert lines == [
            f"{r['severity']}: {r['entity'] or r['section'] or '(page)'}: {describe_change(r)}"
            for r in rows
        ]
        assert entry.content[0].type == "text/plain"
    assert feed.feed.updated == sets[0][1][0]["detected_at"]


def test_entry_ids_are_stable_across_requests_and_filters(client: TestClient) -> None:
    ids = [e.id for e in _feed(client).entries]
    assert ids == [e.id for e in _feed(client).entries]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("tag:azure-mi-watcher,2024:changeset/mi/") for i in ids)
    usgov = _feed(client, "?column=usgov")
    assert {e.id for e in usgov.entries} <= set(ids)
    assert usgov.feed.id != _feed(client).feed.id


def test_usgov_status_changes_are_a_feed_of_their_own(client: TestClient, history_db: str) -> None:
    """The CLI's filters as query parameters: only Azure Government's status changes (of
    notice severity or more: the real history's are all promotions)."""
    cli = ["--column", "usgov", "--kind", "status_changed", "--severity", "notice"]
    wanted = run_json("changes", *cli, db=history_db)
    feed = _feed(client, "?column=usgov&kind=status_changed&severity=notice")
    lines = [line for e in feed.entries for line in e.content[0].value.splitlines()]
    assert len(lines) == len(wanted) == 18
    assert all(line.startswith("notice: ") and "Azure Government" in line for line in lines)
    assert len(feed.entries) == len(_sets(wanted))
    assert _feed(client, "?limit=2").entries == _feed(client).entries[:2]
    assert client.get("/feeds/changes.atom?column=moon").status_code == 400
