"""The fetch log read back: every HTTP request the checks made for their pages, latest first.

Where ``watcher status`` says a source is failing, this says what each try met: the HTTP
status, the bytes, the time taken, the error, and the snapshot the page came to. Each retry
and each redirect is a request of its own; a try's redirects share its number.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from watcher.audit.sources import require_source
from watcher.domain.times import iso
from watcher.storage.models import Fetch, Source

FETCH_FIELDS = ("time", "source", "attempt", "url", "status", "bytes", "ms", "error", "snapshot")


def fetch_rows(
    session: Session, source: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The latest ``limit`` requests (of one source, or of all) as FETCH_FIELDS."""
    require_source(session, source)
    query = (
        select(
            Fetch.started_at,
            Source.name,
            Fetch.attempt,
            Fetch.url,
            Fetch.status_code,
            Fetch.bytes,
            Fetch.duration_ms,
            Fetch.error,
            Fetch.snapshot_id,
        )
        .join(Source, Source.id == Fetch.source_id)
        .order_by(Fetch.started_at.desc(), Fetch.id.desc())
        .limit(limit)
    )
    if source is not None:
        query = query.where(Source.name == source)
    return [
        dict(zip(FETCH_FIELDS, (iso(row[0]), *row[1:]), strict=True))
        for row in session.execute(query)
    ]
