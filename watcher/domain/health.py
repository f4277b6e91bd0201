"""The rule of a source's staleness, shared by the check that records health
(watcher.ingest.health) and the status that reports it (watcher.audit.status). Pure."""

from __future__ import annotations

from datetime import datetime, timedelta


def is_stale(
    last_success_at: datetime | None, created_at: datetime, stale_after: timedelta, now: datetime
) -> bool:
    """Nothing succeeded for longer than ``stale_after``: counted from the last success, or
    from when the source was first stored when it never succeeded."""
    return now - (last_success_at or created_at) > stale_after
