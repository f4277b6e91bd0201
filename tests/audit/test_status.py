"""`watcher status` rows: configured sources (stored or not) first, then stored sources the
config does not name, each with its state, times and undelivered notifications."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import EN_CHAIN
from watcher.audit.status import STATUS_FIELDS, status_rows
from watcher.config import Config
from watcher.domain.times import utcnow
from watcher.ingest.importer import ImportItem, import_pages
from watcher.storage.lease import this_process
from watcher.storage.models import Notification, Source


def test_status_rows_cover_configured_stored_and_unconfigured_sources(
    sessions: sessionmaker[Session],
) -> None:
    config = Config.model_validate(
        {
            "sources": [
                {"name": "mi", "url": "https://example.com/p.md"},
                {"name": "never", "url": "https://example.com/r.md"},
            ]
        }
    )
    history = [ImportItem(p, p.read_bytes()) for p in EN_CHAIN[1:3]]
    import_pages(sessions, "mi", history)  # a baseline and one version with changes
    import_pages(sessions, "old", history[:1])
    with sessions.begin() as session:
        mi = session.scalars(select(Source).where(Source.name == "mi")).one()
        now = utcnow()
        # A live claim (this process's, its lease running), and one whose lease ran out.
        claims = {1: now + timedelta(minutes=5), 2: now - timedelta(minutes=1)}
        for n, state in enumerate(("pending", "sending", "sending", "dead", "sent")):
            session.add(
                Notification(
                    idempotency_key=f"k{n}",
                    route="r",
                    channel="stdout",
                    kind="test",
                    payload={},
                    state=state,
                    source_id=mi.id,
                    next_attempt_at=claims.get(n),
                    claimed_by=str(this_process()) if n in claims else None,
                )
            )
    with sessions() as session:
        rows = status_rows(session, config)
    assert all(set(row) == set(STATUS_FIELDS) for row in rows)
    assert [(r["source"], r["state"]) for r in rows] == [
        ("mi", "never checked"),  # imported history is not a check
        ("never", "never checked"),  # configured, nothing stored
        ("old", "imported"),  # stored, not in the config
    ]
    mi_row, never, old = rows
    # Being sent counts as pending; sending that nobody sends any more is stuck.
    assert (mi_row["pending"], mi_row["stuck"], mi_row["dead"]) == (2, 1, 1)
    assert mi_row["last_change"] is not None and mi_row["last_change"].endswith("Z")
    assert old["last_change"] is None  # a baseline alone changed nothing
    assert never == {
        "source": "never",
        "state": "never checked",
        "failures_in_row": 0,
        "pending": 0,
        "held": 0,
        "stuck": 0,
        "dead": 0,
        "last_check": None,
        "last_success": None,
        "last_change": None,
    }
    assert (old["pending"], old["dead"], old["last_check"]) == (0, 0, None)
