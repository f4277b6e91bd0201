"""`watcher changes` to a pipe: the change log read, summarized and written a batch at a
time says exactly what it says read whole, wherever the batches end."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import CORPUS
from tests.storage.answers import import_history
from watcher.audit.changes import ChangeFilter, iter_change_rows
from watcher.cli.history import _change_log, _summarized
from watcher.cli.plain import change_log_lines


def test_the_log_in_batches_reads_as_the_log_whole(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    import_history(db_url, CORPUS)
    with sessions() as s:
        rows, summaries = _change_log(s, ChangeFilter(), after=None, limit=None)
        whole = list(change_log_lines((r, summaries.get(r["id"])) for r in rows))
        # The history holds section-wide changes, whose summaries list their entities.
        assert any(r["kind"] == "section_added" for r in rows) and summaries
        for size in (1, 2, 7, len(rows) - 1, 1000):
            batched = list(
                change_log_lines(_summarized(s, iter_change_rows(s, ChangeFilter()), size))
            )
            assert batched == whole, size
