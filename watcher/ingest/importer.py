"""Store local files as successive snapshots of a source (``watcher import``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from watcher.domain.guard import GuardPolicy
from watcher.domain.outcome import Outcome
from watcher.ingest import ahead
from watcher.ingest.ahead import Read
from watcher.ingest.pipeline import OutOfOrder, Page, ingest, next_import_time, page_date, sha256
from watcher.parse import Format
from watcher.storage import store
from watcher.storage.engine import one_connection

if TYPE_CHECKING:
    from watcher.config import RouteConfig


class ImportFailed(Exception):
    """A file that cannot be imported; the message names the file."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ImportStopped(Exception):
    """An import that stopped at one file; the message says how many were stored before it
    (each file is stored in its own transaction, so those stay stored)."""

    def __init__(self, path: Path, reason: str, stored: int, total: int) -> None:
        self.path, self.stored, self.total = path, stored, total
        super().__init__(self.retold(reason))

    def retold(self, reason: str) -> str:
        """The message, with ``reason`` as the wording of why it stopped."""
        where = f"import stopped at {self.path}: {reason}"
        return f"{where}; {self.stored} of {self.total} files stored before it"


@dataclass(frozen=True)
class ImportItem:
    path: Path
    body: bytes
    origin_ref: str | None = None
    at: datetime | None = None


def guess_format(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix in (".md", ".markdown", ".txt"):
        return "markdown"
    if suffix in (".html", ".htm"):
        return "html"
    return "auto"


@dataclass(frozen=True)
class _Options:
    """How every page of one import is stored."""

    source_name: str
    origin: Literal["import", "backfill"]
    url: str | None
    routes: Sequence[RouteConfig]
    notify: bool
    guard: GuardPolicy


def import_pages(
    sessions: sessionmaker[Session],
    source_name: str,
    items: Sequence[ImportItem],
    *,
    origin: Literal["import", "backfill"] = "import",
    url: str | None = None,
    fmt: Format | None = None,
    routes: Sequence[RouteConfig] = (),
    notify: bool = False,
    guard: GuardPolicy = GuardPolicy(),
) -> list[Outcome]:
    """Ingest each item in the order given, each in its own transaction."""
    how = _Options(source_name, origin, url, routes, notify, guard)
    formats = [fmt or guess_format(item.path) for item in items]
    with one_connection(sessions) as sessions:
        return [
            _import_one(sessions, how, item, item_fmt, ahead.read(item.body, item_fmt))
            for item, item_fmt in zip(items, formats, strict=True)
        ]


def _import_one(
    sessions: sessionmaker[Session], how: _Options, item: ImportItem, fmt: Format, page: Read
) -> Outcome:
    """One page stored in a transaction of its own."""
    wanted = item.at or page_date(page.document)
    if wanted is None:
        raise ImportFailed(item.path, "the page has no ms.date (give --at)")
    with sessions.begin() as session:
        source = store.get_source(session, how.source_name)
        if source is None:
            source = store.get_or_create_source(
                session, how.source_name, how.url or item.path.resolve().as_uri(), fmt
            )
        latest = store.latest_snapshot(session, source.id)
        taken_at = next_import_time(latest, wanted)
        digest = sha256(item.body)
        # What the source holds of this body, read once here and handed to ingest (which
        # needs none for the latest page again: it finds that first).
        copies = (
            store.body_copies(session, source.id, digest)
            if latest is not None and latest.sha256 != digest
            else None
        )
        if (
            latest is not None
            and wanted <= latest.taken_at
            and copies is not None
            and copies.first is not None
        ):
            # Already stored (an import or backfill run again): keep the page's own time
            # so that ingest finds it, rather than a moment after the latest snapshot,
            # which would store it again as a new version.
            taken_at = wanted
        stored = Page(
            body=item.body,
            taken_at=taken_at,
            origin=how.origin,
            url=how.url or str(item.path),
            origin_ref=item.origin_ref or str(item.path),
        )
        return ingest(
            session,
            source,
            stored,
            fmt=fmt,
            routes=how.routes,
            notify=how.notify,
            guard=how.guard,
            document=page.document,
            packed=page.packed,
            latest=latest,
            copies=copies,
        )


def import_files(
    sessions: sessionmaker[Session],
    source_name: str,
    items: Sequence[ImportItem],
    *,
    fmt: Format | None = None,
    routes: Sequence[RouteConfig] = (),
    notify: bool = False,
    guard: GuardPolicy = GuardPolicy(),
    on_stored: Callable[[Path, Outcome], object] = lambda _path, _outcome: None,
    read_ahead: bool | None = None,
) -> list[Outcome]:
    """``watcher import``: store each file in turn, each in its own transaction, telling
    ``on_stored`` as each one is; raises ImportStopped at the first file that cannot be
    stored, after the ones before it. The files are read ahead in a worker process when
    ``read_ahead`` (by default when that pays: watcher.ingest.ahead)."""
    how = _Options(source_name, "import", None, routes, notify, guard)
    formats = [fmt or guess_format(item.path) for item in items]
    pages = [(item.body, item_fmt) for item, item_fmt in zip(items, formats, strict=True)]
    outcomes: list[Outcome] = []
    with (
        one_connection(sessions) as sessions,
        closing(ahead.read_all(pages, ahead=read_ahead)) as reads,
    ):
        for item, item_fmt, page in zip(items, formats, reads, strict=True):
            try:
                outcome = _import_one(sessions, how, item, item_fmt, page)
            except (ImportFailed, OutOfOrder, OSError, DBAPIError) as exc:
                raise ImportStopped(item.path, _reason(exc), len(outcomes), len(items)) from exc
            outcomes.append(outcome)
            on_stored(item.path, outcome)
    return outcomes


def _reason(exc: Exception) -> str:
    if isinstance(exc, ImportFailed):
        return exc.reason
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, DBAPIError):
        # The driver's own words, first line only (SQLAlchemy appends the statement).
        orig = exc.orig if exc.orig is not None else exc
        first = next(iter(str(orig).strip().splitlines()), "")
        return f"{type(orig).__name__}: {first}"
    return str(exc)
