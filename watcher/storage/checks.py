"""What a check reads first and writes last, in plain SQL on a driver connection.

A check reads its source as stored (``known``) before it fetches, and afterwards records the
fetch's requests in the fetch log (``record_fetches``) and counts the check on the source
(``mark_checked``). Each is written here once: the unchanged check runs it on its raw
connection (watcher.ingest.check), the pipeline on its session's own connection, inside its
transaction (watcher.storage.store.driver), so both write the same rows the same way. The
fetch log is read back by watcher.audit.fetches (``watcher fetches``). Nothing here imports
SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from watcher.storage.connections import Conn


class Request(Protocol):
    """One HTTP request of a fetch, as watcher.ingest.fetch.Attempt describes it."""

    @property
    def url(self) -> str: ...
    @property
    def started_at(self) -> float: ...  # time.time()
    @property
    def duration_ms(self) -> int: ...
    @property
    def status_code(self) -> int | None: ...
    @property
    def bytes(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def number(self) -> int: ...
    @property
    def outcome(self) -> str: ...


@dataclass(frozen=True)
class Known:
    """What the database says about a source before its check."""

    source_id: int
    url: str
    format: str
    state: str
    last_check_at: datetime | None
    snapshot_id: int | None  # the latest snapshot in the line of versions (not rejected)
    sha256: str | None
    snapshot_state: str | None
    etag: str | None
    last_modified: str | None


def latest_kept(conn: Conn, source_id: int) -> tuple[Any, ...] | None:
    """(id, state, sha256, etag, last_modified) of the source's latest snapshot that is not
    rejected (a rejected one is kept for the audit, out of the line of versions)."""
    return conn.one(
        "SELECT id, state, sha256, etag, last_modified FROM snapshots WHERE source_id = ? "
        "AND state <> 'rejected' ORDER BY taken_at DESC, id DESC LIMIT 1",
        (source_id,),
    )


def known(conn: Conn, name: str) -> Known | None:
    """The source named ``name`` and its latest snapshot; None before its first check.
    Ends the read, so no transaction stays open over the fetch that follows."""
    try:
        source = conn.one(
            "SELECT id, url, format, state, last_check_at FROM sources WHERE name = ?", (name,)
        )
        if source is None:
            return None
        latest = latest_kept(conn, source[0])
    finally:
        conn.end_read()
    source_id, url, fmt, state, last_check = source
    snap_id, snap_state, sha, etag, modified = latest or (None, None, None, None, None)
    return Known(
        source_id, url, fmt, state, Conn.time(last_check), snap_id, sha, snap_state, etag, modified
    )


def mark_checked(
    conn: Conn,
    source_id: int,
    at: datetime,
    *,
    ok: bool,
    changed: bool = False,
    as_read: tuple[str, str] | None = None,
) -> bool:
    """Count one check of the source at ``at``: a success clears its failures in a row
    (and with ``changed`` is its last change too), a failure adds one. With ``as_read``
    (url, format), only if the source is still ``ok`` at that URL and in that format, as
    the unchanged check read it before its fetch. True when the source's row was counted."""
    stamp = conn.stamp(at)
    params: list[Any] = [stamp]
    if ok:
        sets = "last_check_at = ?, last_success_at = ?, failures_in_row = 0"
        params.append(stamp)
        if changed:
            sets += ", last_change_at = ?"
            params.append(stamp)
    else:
        sets = "last_check_at = ?, failures_in_row = failures_in_row + 1"
    where = "id = ?"
    params.append(source_id)
    if as_read is not None:
        where += " AND state = 'ok' AND url = ? AND format = ?"
        params.extend(as_read)
    cur = conn.execute(f"UPDATE sources SET {sets} WHERE {where}", params)
    try:
        return bool(cur.rowcount == 1)
    finally:
        cur.close()


def record_fetches(
    conn: Conn, source_id: int, requests: Sequence[Request], snapshot_id: int | None
) -> None:
    """Add a check's requests to the fetch log, in order. ``snapshot_id`` is the snapshot
    the page came to (stored, or found again); the last request, which brought the page,
    carries it."""
    last = len(requests) - 1
    for i, r in enumerate(requests):
        conn.execute(
            "INSERT INTO fetches (source_id, started_at, url, attempt, status_code, bytes, "
            "duration_ms, outcome, error, snapshot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                source_id,
                conn.stamp(datetime.fromtimestamp(r.started_at, UTC)),
                r.url,
                r.number,
                r.status_code,
                r.bytes,
                r.duration_ms,
                r.outcome,
                r.error,
                snapshot_id if i == last else None,
            ),
        ).close()
