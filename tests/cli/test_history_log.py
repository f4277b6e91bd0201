"""Streamed listings are read a page at a time, each page in a transaction of its own (a
paused pipe holds none open): what they list is what a single read lists, wherever the pages
end, with `--limit` and `--after` as given."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import CORPUS
from tests.storage.answers import import_history
from watcher.audit.changes import ChangeFilter, iter_change_values
from watcher.audit.snapshots import snapshot_rows
from watcher.cli.app import App
from watcher.cli.history import _change_log, _change_values, _summarized_page
from watcher.cli.plain import change_log_lines
from watcher.cli.snapshots import _snapshot_page


def _first(pair: tuple[dict[str, Any], Any]) -> int:
    return int(pair[0]["id"])


def test_the_log_in_pages_reads_as_the_log_whole(
    db_url: str, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    import_history(db_url, CORPUS)
    # The pages' connections in a session time zone far from UTC (libpq reads PGTZ): a page's
    # cursor compared with the stored naive UTC times in it would lose the rows of 9 hours.
    monkeypatch.setenv("PGTZ", "Asia/Tokyo")
    app = App(None, db_url)
    with sessions() as s:
        rows, summaries = _change_log(s, ChangeFilter(), after=None, limit=None)
        whole = list(change_log_lines((r, summaries.get(r["id"])) for r in rows))
        values = list(iter_change_values(s))
        listing = snapshot_rows(s)
    # The history holds section-wide changes, whose summaries list their entities.
    assert any(r["kind"] == "section_added" for r in rows) and summaries
    f = ChangeFilter()
    for size in (1, 2, 7, len(rows) - 1, 1000):
        pages = app.read_pages(
            _summarized_page, f, after=None, limit=None, cursor=_first, page_size=size
        )
        assert list(change_log_lines(pages)) == whole, size
        paged = app.read_pages(
            _change_values, f, after=None, limit=None, cursor=lambda v: v[0], page_size=size
        )
        assert list(paged) == values, size
        snaps = app.read_pages(
            _snapshot_page, None, after=None, limit=None, cursor=lambda r: r["id"], page_size=size
        )
        assert list(snaps) == listing, size
    # --limit N is N rows however the pages fall; --after starts after that change.
    limited = app.read_pages(
        _change_values, f, after=values[2][0], limit=10, cursor=lambda v: v[0], page_size=3
    )
    assert list(limited) == values[3:13]
    app.close()
