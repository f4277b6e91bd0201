"""Real page versions for the digest tests, imported with the clock where a test wants it,
and the command line run in a process of its own at a chosen time (time-machine)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import CAPABILITY_EDITS, PAGE_2025, ROOT, later_2025
from tests.delivery.conftest import SOURCE
from watcher.config import Config
from watcher.ingest.importer import ImportItem, import_pages
from watcher.storage.models import Notification

# A Monday in winter (CET, UTC+1): 09:00 Berlin is 08:00 UTC.
MONDAY = datetime(2026, 1, 12, 10, 0, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 1, 13, 8, 0, tzinfo=UTC)


def flip_back(folder: Path) -> Path:
    """A third version of the real 2025 page, after ``later_2025``: Microsoft.Sql's
    servers/databases loses system-assigned again (changed and changed back), Microsoft.Web's
    sites shows user-assigned in preview (Available → Preview, via Not available), and Azure
    Virtual Machines' documentation points where it did (its link changed back)."""
    text = PAGE_2025.read_text(encoding="utf-8").replace(
        "ms.date: 05/09/2025", "ms.date: 06/20/2025"
    )
    old_sites = CAPABILITY_EDITS[1][0]
    assert text.count(old_sites) == 1
    text = text.replace(
        old_sites, "| Microsoft.Web | sites | System-assigned<br/>User-assigned (preview) |"
    )
    path = folder / "2025-06-20.md"
    path.write_text(text, encoding="utf-8")
    return path


def import_at(
    sessions: sessionmaker[Session], cfg: Config, moment: datetime, *pages: Path
) -> list[int]:
    """Import the pages as successive snapshots (notifications on) with the clock at
    ``moment``; the ids of the outbox rows so far."""
    with time_machine.travel(moment, tick=False):
        items = [ImportItem(p, p.read_bytes()) for p in pages]
        import_pages(sessions, SOURCE, items, routes=cfg.routes, notify=True)
    with sessions() as session:
        return list(session.scalars(select(Notification.id).order_by(Notification.id)))


def seed_three(sessions: sessionmaker[Session], cfg: Config, tmp_path: Path) -> list[int]:
    """The real 2025 page as the baseline, then two later versions on the same day."""
    import_at(sessions, cfg, MONDAY, PAGE_2025)
    import_at(sessions, cfg, MONDAY.replace(hour=11), later_2025(tmp_path))
    return import_at(sessions, cfg, MONDAY.replace(hour=15), flip_back(tmp_path))


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


def at_time(moment: datetime, *args: str) -> list[str]:
    """The command line of ``watcher ARGS`` in a process whose clock starts at ``moment``."""
    return [sys.executable, "-c", SCRIPT, moment.isoformat(), *args]


def run_at(moment: datetime, env: dict[str, str], *args: str) -> str:
    """Run ``watcher ARGS`` at ``moment`` in a process of its own; what it printed."""
    done = subprocess.run(
        at_time(moment, *args), capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env
