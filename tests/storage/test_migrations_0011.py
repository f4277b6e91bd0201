"""Migration 0011 (bodies and record sets) converts an existing database in place, on SQLite
and PostgreSQL: the real history with flips is stored by the code from before the
migration (checked out from git, run in a process of its own), and every audit answer —
`show` of each snapshot, `state` now and at moments in each era, `history`, `changes`,
`export`, `snapshots` — is the same, byte for byte, before the upgrade, after it, and
after the downgrade (read by the old code again)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import func, select

from tests.conftest import CORPUS, ROOT
from tests.storage import answers
from watcher.storage.engine import make_engine, session_factory
from watcher.storage.migrations.runner import alembic_config
from watcher.storage.models import Body, RecordSet

MIGRATION = "watcher/storage/migrations/versions/0011_bodies_and_record_sets.py"
SCRIPT = Path(answers.__file__)


def _git(*args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def old_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The watcher package as it was just before migration 0011 was added."""
    try:
        added = _git("log", "--format=%H", "--diff-filter=A", "--", MIGRATION).split()
        commit = f"{added[-1].decode()}^" if added else "HEAD"
        tree = _git("archive", "--format=tar", commit, "watcher")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"no git history to take the code before migration 0011 from: {exc}")
    dest = tmp_path_factory.mktemp("before-0011")
    with tarfile.open(fileobj=BytesIO(tree)) as archive:
        archive.extractall(dest, filter="data")
    assert 'SCHEMA_HEAD = "0010"' in (dest / "watcher/storage/migrations/__init__.py").read_text()
    return dest


def by_old_code(old: Path, db: str, what: str) -> dict[str, Any]:
    """Run tests/storage/answers.py with the code before the migration."""
    env = {**os.environ, "PYTHONPATH": str(old)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), db, what, str(CORPUS)],
        cwd=old,
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout) if what == "answers" else {}


def migrate(db: str, revision: str, *, down: bool = False) -> None:
    engine = make_engine(db)
    with engine.begin() as conn:
        (command.downgrade if down else command.upgrade)(alembic_config(conn), revision)
    engine.dispose()


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)]


def stored(db: str) -> tuple[int, int]:
    """(bodies, record sets) stored."""
    engine = make_engine(db)
    with session_factory(engine)() as s:
        found = (
            s.scalar(select(func.count()).select_from(Body)) or 0,
            s.scalar(select(func.count()).select_from(RecordSet)) or 0,
        )
    engine.dispose()
    return found


def test_the_migration_keeps_every_audit_answer_of_an_existing_database(
    db_url: str, old_code: Path, tmp_path: Path
) -> None:
    pages = answers.versions(CORPUS)
    by_old_code(old_code, db_url, "import")  # the old code creates its schema (0010)
    before = by_old_code(old_code, db_url, "answers")
    assert len(before["snapshots"]) == len(pages) + answers.FLIPS

    migrate(db_url, "head")
    assert differences(before, answers.answers(db_url)) == []
    # Each page's body and record set stored once, however often it was flipped to.
    assert stored(db_url) == (len(pages), len(pages))

    migrate(db_url, "0010", down=True)
    assert differences(before, by_old_code(old_code, db_url, "answers")) == []

    # What the migration writes is what watcher stores itself: the history imported afresh
    # answers the same, and a migrated page stored again finds its body and its set.
    migrate(db_url, "head")
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    answers.import_history(fresh, CORPUS)
    assert differences(before, answers.answers(fresh)) == []
    for page in pages[-2:]:
        answers.command(db_url, "import", "--source", "page", "--at", "2025-07-01", str(page))
    assert stored(db_url) == (len(pages), len(pages))
