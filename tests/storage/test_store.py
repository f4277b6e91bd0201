"""What the store writes is what it reads back: every cell of real pages, on both databases.

Records go in through the driver (executemany on SQLite, COPY on PostgreSQL) and the
document of the last stored pages is kept in memory; both must give back exactly the
parser's records, in page order, links and mixed parts included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import EN_CHAIN, STATUS_CHAIN
from watcher.domain.document import Document, Record, Status
from watcher.ingest.pipeline import Page, ingest
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
