"""Bodies stored once, compressed, and records once per distinct set, on SQLite and
PostgreSQL: the real history with a page flipping between two versions stores each body
and each record set once, `show` gives every page back byte for byte, and a stored set
reads back as the records the parser made."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.cliutil import run, run_json
from tests.conftest import CORPUS
from tests.storage.answers import FLIPS, SOURCE, import_history, versions
from watcher.parse import parse
from watcher.storage import bodies, records
from watcher.storage.models import Body, RecordKey, RecordSet, Snapshot


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """(snapshots, bodies, record sets) stored."""
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Snapshot)) or 0,
            s.scalar(select(func.count()).select_from(Body)) or 0,
            s.scalar(select(func.count()).select_from(RecordSet)) or 0,
        )


def test_a_page_flipping_between_two_known_bodies_stores_no_body_and_no_records(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    pages = versions(CORPUS)
    import_history(db_url, CORPUS)
    # Every flip is a snapshot of its own (quarantined or accepted again), of a known body.
    assert counts(sessions) == (len(pages) + FLIPS, len(pages), len(pages))
    run("import", "--source", SOURCE, "--at", "2025-07-01", str(pages[-2]), db=db_url)
    assert counts(sessions) == (len(pages) + FLIPS + 1, len(pages), len(pages))
    with sessions() as s:
        # Each set names the entities it holds, once each.
        for set_id, in_set in s.execute(select(RecordSet.id, RecordSet.count)):
            keys = s.scalars(select(RecordKey.entity_key).where(RecordKey.set_id == set_id))
            assert 0 < len(list(keys)) <= in_set


def test_a_snapshot_whose_record_set_is_lost_is_an_error_not_an_empty_page(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    # records_id has no foreign key (SQLite cannot drop a column that has one): a set lost
    # under it must fail the read loudly, never read as a page that lists nothing.
    import_history(db_url, CORPUS)
    with sessions() as s:
        snap = s.scalars(select(Snapshot).order_by(Snapshot.id.desc())).first()
        assert snap is not None and snap.records_id is not None
        snap_id, set_id = snap.id, snap.records_id
        s.execute(update(Snapshot).where(Snapshot.id == snap_id).values(records_id=set_id + 10**6))
        s.commit()
    with sessions() as s:
        with pytest.raises(LookupError, match=f"snapshot {snap_id}: its record set"):
            records.of_snapshot(s, snap_id)
        with pytest.raises(LookupError, match=f"snapshot {snap_id}: its record set"):
            records.of_snapshots(s, [snap_id])


def test_show_gives_every_stored_page_back_byte_for_byte(db_url: str) -> None:
    import_history(db_url, CORPUS)
    for snap in run_json("snapshots", db=db_url):
        shown = run("show", str(snap["id"]), db=db_url).stdout_bytes
        assert shown == Path(snap["origin_ref"]).read_bytes(), snap


def test_a_snapshot_reads_back_the_records_its_page_parses_to(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    import_history(db_url, CORPUS)
    with sessions() as s:
        for snap in s.scalars(select(Snapshot)):
            page = Path(str(snap.origin_ref)).read_bytes()
            stored = records.of_snapshot(s, snap.id)
            assert stored == parse(page, "markdown").records
            assert len(stored) == snap.record_count


@pytest.mark.parametrize("page", versions(CORPUS), ids=lambda p: p.name)
def test_a_record_set_encodes_every_field_and_decodes_to_the_same_records(page: Path) -> None:
    found = parse(page.read_bytes(), "markdown").records
    assert records.decode(records.encode(found)) == found


def test_the_pages_hold_what_a_set_must_carry_beyond_text() -> None:
    """The round trip above covers mixed cells' parts and cells' links: the pages have them."""
    found = [r for page in versions(CORPUS) for r in parse(page.read_bytes(), "markdown").records]
    assert any(r.parts for r in found)
    assert any(r.links for r in found)
    assert any(r.status is None for r in found)


def test_show_of_a_snapshot_that_does_not_exist_says_so(db_url: str) -> None:
    import_history(db_url, CORPUS)
    result = run("show", "999", db=db_url, code=2)
    assert "no snapshot 999" in result.stderr
    assert result.stdout_bytes == b""


def test_garbage_collection_never_takes_a_set_a_writer_is_taking_meanwhile(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    """A reparse deletes the record sets no snapshot names, while a check may be storing a
    snapshot of one of them (a page whose records a set already holds): the collection
    waits for that writer, and the set it took stays."""
    import_history(db_url, CORPUS)
    page = parse(versions(CORPUS)[0].read_bytes(), "markdown").records[:3]
    with sessions.begin() as s:
        orphan = records.store(s, page)  # a set no snapshot names: garbage, for now
        assert orphan is not None
    writer = sessions()
    # A check stores its page's body first (a new one), as add_snapshot does...
    new_body = b"# another page\n"
    bodies.put(writer, hashlib.sha256(new_body).hexdigest(), new_body)
    collected: list[tuple[int, int]] = []

    def collect() -> None:
        with sessions.begin() as s:
            collected.append(records.collect_garbage(s))

    collector = threading.Thread(target=collect)
    collector.start()
    collector.join(timeout=1.0)
    assert collector.is_alive(), "the collection did not wait for the writer"
    # ... then takes the stored set (not waiting on the collection that waits on it)...
    assert records.store(writer, page) == orphan
    # ... and commits a snapshot naming it.
    latest = writer.scalars(select(Snapshot).order_by(Snapshot.id.desc())).first()
    assert latest is not None
    latest.records_id = orphan
    writer.commit()
    writer.close()
    collector.join(timeout=30)
    assert not collector.is_alive() and collected
    with sessions() as s:
        assert s.get(RecordSet, orphan) is not None
        assert records.of_snapshot(s, latest.id) == page
