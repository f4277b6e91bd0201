"""Quiet hours in the outbox: a route's change sets wait, pending, while its window lasts and
go when it ends; ``quiet_hours_bypass`` lets a severe one through (with the older ones of its
source before it, so the order holds); other routes are not held. Decided from the rows and
the clock of each dispatch: the last test runs the real command in a new process inside the
window and again after it (time-machine moving that process's clock)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ROOT
from tests.delivery.conftest import (
    FAST,
    PAGE_URL,
    SOURCE,
    config,
    record,
    route,
    row,
    seed_small,
)
from watcher.delivery import claim as claims
from watcher.delivery.outbox import dispatch
from watcher.domain.document import Document
from watcher.ingest.pipeline import Page, ingest
from watcher.storage import store
from watcher.storage.models import Notification

NIGHT = route("night", "stdout", quiet_hours="22:00-07:00 Europe/Berlin")
URGENT = route(
    "urgent", "stdout", quiet_hours="22:00-07:00 Europe/Berlin", quiet_hours_bypass="warning"
)
# 23:30 Berlin in winter (UTC+1); the window ends at 06:00 UTC.
INSIDE = datetime(2026, 1, 10, 22, 30, tzinfo=UTC)
END = datetime(2026, 1, 11, 6, 0, tzinfo=UTC)
AFTER = datetime(2026, 1, 11, 6, 0, 5, tzinfo=UTC)


def test_a_change_set_waits_for_the_end_of_the_window(sessions: sessionmaker[Session]) -> None:
    cfg = config(NIGHT, route("day", "stdout"))
    night, day = seed_small(sessions, cfg)
    out = io.StringIO()
    report = dispatch(sessions, cfg, policy=FAST, now=lambda: INSIDE, stdout=out)
    assert [d.id for d in report.deliveries] == [day]
    assert row(sessions, night).state == "pending" and row(sessions, night).attempts == 0
    quiet = claims.quiet_now(cfg.routes, INSIDE)
    assert claims.next_due(sessions, None, quiet) == END
    report = dispatch(sessions, cfg, policy=FAST, now=lambda: AFTER, stdout=out)
    assert [d.id for d in report.deliveries] == [night]
    assert row(sessions, night).state == "sent"
    assert out.getvalue().count("for route night") == 1


def test_a_regression_bypasses_the_window_with_the_older_ones_first(
    sessions: sessionmaker[Session],
) -> None:
    cfg = config(URGENT)
    [promotion] = seed_small(sessions, cfg)  # three promotions: notice
    assert row(sessions, promotion).payload["severity"] == "notice"
    assert not dispatch(sessions, cfg, policy=FAST, now=lambda: INSIDE).deliveries
    # The next change set takes Azure Maps away: a warning, which goes, and the held
    # promotions of the same source go before it.
    names = ("Azure Functions", "Azure Batch", "Azure Maps")
    after = [record(n, "available") for n in names[:2]] + [record(names[2], "not_available")]
    with sessions.begin() as session:
        source = store.get_or_create_source(session, SOURCE, PAGE_URL, "markdown")
        page = Page(body=b"version 2", taken_at=datetime(2024, 1, 3, tzinfo=UTC), origin="import")
        document = Document(records=tuple(after), title="Synthetic page", tables=1)
        ingest(session, source, page, document=document, routes=cfg.routes)
    with sessions() as session:
        [regression] = session.scalars(select(Notification.id).where(Notification.id != promotion))
    assert row(sessions, regression).payload["severity"] == "warning"
    out = io.StringIO()
    report = dispatch(sessions, cfg, policy=FAST, now=lambda: INSIDE, stdout=out)
    assert [d.id for d in report.deliveries] == [promotion, regression]
    assert out.getvalue().count("for route urgent") == 2


SCRIPT = textwrap.dedent(
    """
    import sys
    import time_machine
    from watcher.cli import main
    with time_machine.travel(sys.argv[1], tick=True):
        sys.argv = ["watcher", *sys.argv[2:]]
        main()
    """
)


def test_held_across_a_restart_and_sent_once_after_the_window(
    sessions: sessionmaker[Session], db_url: str, tmp_path: Path
) -> None:
    cfg = config(NIGHT)
    [nid] = seed_small(sessions, cfg)
    toml = tmp_path / "w.toml"
    toml.write_text(
        f'[[sources]]\nname = "{SOURCE}"\nurl = "{PAGE_URL}"\nformat = "markdown"\n\n'
        '[[routes]]\nname = "night"\nchannel = "stdout"\n'
        'quiet_hours = "22:00-07:00 Europe/Berlin"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}

    args = ["--config", str(toml), "--db", db_url, "dispatch", "--linger", "1"]

    def run_at(moment: datetime) -> str:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, moment.isoformat(), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "for route night" not in run_at(INSIDE)
    assert row(sessions, nid).state == "pending"
    assert "for route night" not in run_at(datetime(2026, 1, 11, 5, 59, tzinfo=UTC))
    printed = run_at(AFTER)
    assert printed.count("for route night") == 1
    assert row(sessions, nid).state == "sent"
    assert "for route night" not in run_at(AFTER)
