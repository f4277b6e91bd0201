"""Fixtures for the notification tests: the local servers, routes, and a real change set."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.servers import SlackServer, SmtpServer, make_certificate
from watcher.config import Config, RouteConfig
from watcher.delivery.outbox import DispatchPolicy
from watcher.domain.document import Document, Record, Status
from watcher.ingest.importer import ImportItem, import_pages
from watcher.ingest.pipeline import Page, ingest
from watcher.parse.vocabulary import normalize
from watcher.storage import store
from watcher.storage.models import Notification

SOURCE = "azure-managed-identities"
PAGE_URL = (
    "https://raw.githubusercontent.com/MicrosoftDocs/entra-docs/main/docs/identity/"
    "managed-identities-azure-resources/managed-identities-status.md"
)
# Backoffs in milliseconds, so the whole fault matrix runs in seconds.
FAST = DispatchPolicy(backoff_base=0.05, backoff_cap=0.2, linger=5.0, lease=30.0, max_attempts=5)


def pair(corpus: Path) -> list[Path]:
    return [
        corpus / "en" / "2021-01-28__MicrosoftDocs.md",
        corpus / "en" / "2021-11-09__MicrosoftDocs__03436ea.md",
    ]


def route(name: str, channel: str, **settings: Any) -> RouteConfig:
    return RouteConfig.model_validate({"name": name, "channel": channel, **settings})


def config(*routes: RouteConfig) -> Config:
    return Config.model_validate(
        {
            "sources": [{"name": SOURCE, "url": PAGE_URL, "format": "markdown"}],
            "routes": [r.model_dump(by_alias=True, exclude_unset=True) for r in routes],
        }
    )


def seed(sessions: sessionmaker[Session], cfg: Config, corpus: Path) -> list[int]:
    """Import the 2021-01-28 → 2021-11-09 pages with notifications on; the queued row ids."""
    items = [ImportItem(p, p.read_bytes()) for p in pair(corpus)]
    import_pages(sessions, SOURCE, items, routes=cfg.routes, notify=True)
    with sessions() as session:
        return list(session.scalars(select(Notification.id).order_by(Notification.id)))


def record(entity: str, status: Status | None, raw: str | None = None, **keys: str) -> Record:
    """One cell of a synthetic page: ``entity`` · System assigned · Azure Government."""
    row_label, column = keys.get("row", "System assigned"), keys.get("column", "Azure Government")
    return Record(
        section=keys.get("section", "Services"),
        entity=entity,
        row=row_label,
        column=column,
        raw=raw if raw is not None else (status or "").replace("_", " ").capitalize(),
        status=status,
        section_key=normalize(keys.get("section", "Services")),
        entity_key=normalize(entity) or "x",
        row_key=normalize(row_label),
        column_key=normalize(column),
    )


def seed_documents(
    sessions: sessionmaker[Session], cfg: Config, old: Sequence[Record], new: Sequence[Record]
) -> list[int]:
    """Store two synthetic documents as successive snapshots; the queued row ids."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    for i, records in enumerate((old, new)):
        with sessions.begin() as session:
            source = store.get_or_create_source(session, SOURCE, PAGE_URL, "markdown")
            page = Page(
                body=f"version {i}".encode(), taken_at=t0 + timedelta(days=i), origin="import"
            )
            document = Document(records=tuple(records), title="Synthetic page", tables=1)
            ingest(session, source, page, document=document, routes=cfg.routes)
    with sessions() as session:
        return list(session.scalars(select(Notification.id).order_by(Notification.id)))


def seed_small(sessions: sessionmaker[Session], cfg: Config) -> list[int]:
    """A small change set (three promotions) for the fault tests: quick on both databases."""
    names = ("Azure Functions", "Azure Batch", "Azure Maps")
    return seed_documents(
        sessions,
        cfg,
        [record(n, "not_available") for n in names],
        [record(n, "available") for n in names],
    )


def row(sessions: sessionmaker[Session], notification_id: int) -> Notification:
    with sessions() as session:
        return session.get_one(Notification, notification_id)


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    server = SlackServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))
