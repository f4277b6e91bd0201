"""A check's first read and its writes, in plain SQL (watcher.storage.checks), on both
databases and both ways in: the driver connection of the unchanged check, and the session's
own connection the pipeline hands over (watcher.storage.store.driver)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import EN_CHAIN
from watcher.audit.fetches import fetch_rows
from watcher.domain.times import iso
from watcher.ingest.fetch import Attempt
from watcher.ingest.pipeline import Page, ingest
from watcher.storage import checks, store
from watcher.storage.connections import Conn, Database
from watcher.storage.models import Source

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(engine: Engine) -> Iterator[Database]:
    db = Database.of(engine)
    yield db
    db.close()


def seed(sessions: sessionmaker[Session], name: str = "mi") -> tuple[int, int]:
    """A source with one stored snapshot: (source id, snapshot id)."""
    with sessions.begin() as session:
        source = store.get_or_create_source(session, name, f"https://example.org/{name}", "auto")
        page = Page(EN_CHAIN[1].read_bytes(), T0, "import")
        outcome = ingest(session, source, page, fmt="markdown")
        assert outcome.snapshot_id is not None
        return source.id, outcome.snapshot_id


def request(number: int, at: float, status: int | None, error: str | None = None) -> Attempt:
    return Attempt("https://example.org/mi", at, 12, status, 100 if status else None, error, number)


def source_row(conn: Conn, source_id: int) -> tuple[object, ...] | None:
    row = conn.one(
        "SELECT last_check_at, last_success_at, last_change_at, failures_in_row "
        "FROM sources WHERE id = ?",
        (source_id,),
    )
    conn.end_read()
    return None if row is None else (*map(Conn.time, row[:3]), row[3])


def test_the_fetch_log_keeps_each_try_and_the_snapshot_on_the_request_that_brought_it(
    sessions: sessionmaker[Session], database: Database
) -> None:
    source_id, snapshot_id = seed(sessions)
    now = time.time()
    tries = [request(1, now, 503, "HTTP 503 from example.org"), request(2, now + 1, 301)]
    tries.append(request(2, now + 2, 200))  # the redirect's target: the same try
    with database.raw() as conn, conn.transaction():
        checks.record_fetches(conn, source_id, tries, snapshot_id)
    with sessions() as session:  # written on the raw driver, read back by the ORM
        rows = fetch_rows(session)
    assert [(r["attempt"], r["status"], r["snapshot"]) for r in rows] == [
        (2, 200, snapshot_id),
        (2, 301, None),
        (1, 503, None),
    ]
    assert rows[2]["error"] == "HTTP 503 from example.org" and rows[0]["error"] is None
    assert rows[0]["time"] == iso(datetime.fromtimestamp(now + 2, UTC))
    assert rows[0]["source"] == "mi" and rows[0]["ms"] == 12


def test_the_fetch_log_reads_latest_first_one_source_or_all(
    sessions: sessionmaker[Session], database: Database
) -> None:
    mi, _ = seed(sessions, "mi")
    other, _ = seed(sessions, "other")
    now = time.time()
    with database.raw() as conn, conn.transaction():
        for i in range(3):
            checks.record_fetches(conn, mi, [request(1, now + 2 * i, 200)], None)
            checks.record_fetches(conn, other, [request(1, now + 2 * i + 1, 200)], None)
    with sessions() as session:
        every = fetch_rows(session, limit=4)
        mine = fetch_rows(session, "mi", limit=10)
    assert [r["source"] for r in every] == ["other", "mi", "other", "mi"]
    assert [r["time"] for r in every] == sorted((r["time"] for r in every), reverse=True)
    assert len(mine) == 3 and {r["source"] for r in mine} == {"mi"}


def test_a_check_is_counted_on_the_source_success_or_failure(
    sessions: sessionmaker[Session], database: Database
) -> None:
    source_id, _ = seed(sessions)
    with database.raw() as conn:
        for at, ok in ((T0, False), (T0 + timedelta(seconds=1), False)):
            with conn.transaction():
                assert checks.mark_checked(conn, source_id, at, ok=ok)
        assert source_row(conn, source_id) == (T0 + timedelta(seconds=1), None, None, 2)
        later = T0 + timedelta(seconds=2)
        with conn.transaction():
            assert checks.mark_checked(conn, source_id, later, ok=True, changed=True)
        assert source_row(conn, source_id) == (later, later, later, 0)


def test_a_source_that_moved_since_it_was_read_is_not_counted(
    sessions: sessionmaker[Session], database: Database
) -> None:
    source_id, _ = seed(sessions)
    with database.raw() as conn:
        with conn.transaction():
            moved = ("https://example.org/elsewhere", "auto")
            assert not checks.mark_checked(conn, source_id, T0, ok=True, as_read=moved)
        with conn.transaction():
            conn.execute("UPDATE sources SET state = 'stale'").close()
        with conn.transaction():
            as_read = ("https://example.org/mi", "auto")
            assert not checks.mark_checked(conn, source_id, T0, ok=True, as_read=as_read)
        assert source_row(conn, source_id) == (None, None, None, 0)
        # A failure is counted whatever state the source is in.
        with conn.transaction():
            assert checks.mark_checked(conn, source_id, T0, ok=False)
        assert source_row(conn, source_id) == (T0, None, None, 1)


def test_the_session_counts_a_check_with_the_same_sql_and_reads_it_back(
    sessions: sessionmaker[Session], database: Database
) -> None:
    seed(sessions)
    with sessions.begin() as session:
        source = store.get_source(session, "mi")
        assert source is not None
        store.mark_checked(session, source, ok=False, changed=False)
        store.mark_checked(session, source, ok=False, changed=False)
        # The object says what the row says, within the transaction.
        assert source.failures_in_row == 2 and source.last_success_at is None
        store.mark_checked(session, source, ok=True, changed=True)
        assert source.failures_in_row == 0
        assert source.last_check_at == source.last_success_at == source.last_change_at
        checked = source.last_check_at
    with sessions() as session:
        stored = session.get(Source, source.id)
        assert stored is not None and stored.last_check_at == checked
    with database.raw() as conn:
        assert source_row(conn, source.id) == (checked, checked, checked, 0)


def test_known_is_the_source_and_its_latest_kept_snapshot(
    sessions: sessionmaker[Session], database: Database
) -> None:
    source_id, snapshot_id = seed(sessions)
    with database.raw() as conn:
        assert checks.known(conn, "nobody") is None
        seen = checks.known(conn, "mi")
    assert seen is not None
    assert (seen.source_id, seen.snapshot_id, seen.snapshot_state) == (
        source_id,
        snapshot_id,
        "accepted",
    )
    assert seen.url == "https://example.org/mi" and seen.last_check_at is None
