"""What the store writes is what it reads back: every cell of real pages, on both databases.

Record sets go in as one compressed blob each, their entity keys through the driver
(executemany on SQLite, one array on PostgreSQL), and the document of the last stored pages
is kept in memory; both must give back exactly the parser's records, in page order, links
and mixed parts included. What a source holds of a body is read in one statement.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import EN_CHAIN, STATUS_CHAIN
from watcher.domain.document import Document, Record, Status
from watcher.ingest import holds
from watcher.ingest.pipeline import Page, ingest, sha256
from watcher.parse import parse
from watcher.storage import store
from watcher.storage.engine import ensure_schema, make_engine, session_factory
from watcher.storage.models import Snapshot


def test_stored_records_read_back_as_parsed(sessions: sessionmaker[Session]) -> None:
    pages = [*EN_CHAIN, *STATUS_CHAIN]
    t0 = datetime(2020, 1, 1, tzinfo=UTC)
    with sessions.begin() as session:
        source = store.get_or_create_source(session, "mi", "file:mi", "markdown")
        for i, path in enumerate(pages):
            page = Page(body=path.read_bytes(), taken_at=t0 + timedelta(days=i), origin="import")
            ingest(session, source, page, fmt="markdown", notify=False)
    parsed = [parse(p.read_bytes(), "markdown") for p in pages]
    # Both kinds of cell the JSON columns hold, so both are checked for a real round trip.
    assert any(r.links for d in parsed for r in d.records)
    assert any(r.parts for d in parsed for r in d.records)
    with sessions() as session:
        snaps = session.scalars(select(Snapshot).order_by(Snapshot.id)).all()
        assert len(snaps) == len(pages)
        for snap, doc in zip(snaps, parsed, strict=True):
            stored = store.load_document(session, snap, cached=False)
            assert stored.records == doc.records
            assert (stored.title, stored.ms_date) == (doc.title, doc.ms_date)
            assert store.load_document(session, snap).records == doc.records


def test_the_document_cache_never_answers_for_another_database(tmp_path: Path) -> None:
    """Same snapshot id, same body, different records (two databases): each gets its own."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    documents = {}
    for name, status in (("a", "available"), ("b", "preview")):
        engine = make_engine(f"sqlite:///{tmp_path / name}.db")
        ensure_schema(engine)
        document = Document(records=(cell(status),), title="Synthetic", tables=1)
        with session_factory(engine).begin() as session:
            source = store.get_or_create_source(session, "mi", "file:mi", "markdown")
            page = Page(body=b"same body", taken_at=t0, origin="import")
            ingest(session, source, page, document=document, notify=False)
        documents[name] = (engine, document)
    for engine, document in documents.values():
        with session_factory(engine)() as session:
            snap = session.scalars(select(Snapshot)).one()
            assert snap.id == 1
            assert store.load_document(session, snap).records == document.records
        engine.dispose()


def cell(status: Status) -> Record:
    return Record(
        "Services", "Azure Maps", "System assigned", "Azure Government", status, status,
        "services", "azure maps", "system assigned", "azure government",
    )  # fmt: skip


def test_what_a_source_holds_of_a_body_is_read_in_one_statement(
    sessions: sessionmaker[Session],
) -> None:
    """Its first snapshot in any state, its first rejected one, its newest accepted one."""
    a, b = (path.read_bytes() for path in EN_CHAIN[:2])
    t0 = datetime(2021, 1, 1, tzinfo=UTC)
    with sessions.begin() as session:
        source = store.get_or_create_source(session, "mi", "file:mi", "markdown")
        ids = []
        for i, body in enumerate((a, b, a)):  # the third: a flip back, which the guard holds
            page = Page(body=body, taken_at=t0 + timedelta(days=i), origin="fetch")
            ids.append(ingest(session, source, page, fmt="markdown", notify=False).snapshot_id)
        held = session.get(Snapshot, ids[2])
        assert held is not None and held.state == "quarantined"
        holds.reject(held)
        session.flush()
        assert store.body_copies(session, source.id, sha256(a)) == store.Copies(
            first=ids[0], rejected=ids[2], accepted=ids[0]
        )
        assert store.body_copies(session, source.id, sha256(b)) == store.Copies(
            first=ids[1], rejected=None, accepted=ids[1]
        )
        assert store.body_copies(session, source.id, "0" * 64) == store.Copies()
