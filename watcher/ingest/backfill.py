"""``watcher backfill git``: a page's whole history from a local clone of its docs repository.

Every commit that changed the file, oldest first, is stored as a snapshot at its commit time
with the commit id as provenance (``origin_ref``), through the same import path as
``watcher import`` (``importer.import_pages`` with ``origin="backfill"``). Running it again
adds nothing: commits already stored are skipped, and a page already stored is recognised by
its sha256. Git is run as a subprocess; no library is needed for two plumbing commands.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from watcher.domain.outcome import Outcome
from watcher.ingest.importer import ImportItem, guess_format, import_pages
from watcher.parse import Format
from watcher.storage import store
from watcher.storage.models import Snapshot

if TYPE_CHECKING:
    from watcher.config import RouteConfig


class BackfillFailed(Exception):
    """Git could not list or read the history; the message says why."""


class BadRepository(BackfillFailed):
    """REPO_DIR is not a git work tree, or PATH is not one file of its history."""


@dataclass(frozen=True)
class Commit:
    sha: str
    committed_at: datetime  # the committer time, as git records it
    at: datetime  # the time the snapshot stands for (committed_at, made strictly increasing)
    path: str  # the file's path in the repository at this commit


@dataclass(frozen=True)
class Step:
    commit: Commit
    outcome: Outcome | None  # None: this commit was stored by an earlier run


Progress = Callable[[int, int, Commit], None]


def git(repo: Path, *args: str) -> bytes:
    # A fixed locale and no pager or prompts: the output is parsed, and nobody is there to
    # answer a question.
    env = {**os.environ, "LC_ALL": "C", "GIT_PAGER": "cat", "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, env=env
        )
    except FileNotFoundError:
        raise BackfillFailed("git is not installed (or not on PATH)") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BackfillFailed(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
    return done.stdout


def repo_path(repo: Path, path: str) -> str:
    """PATH as git names it: relative to the top of the work tree."""
    try:
        top = Path(git(repo, "rev-parse", "--show-toplevel").decode().strip())
    except BackfillFailed as exc:
        raise BadRepository(f"{repo} is not a git work tree ({exc})") from None
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            return candidate.resolve().relative_to(top.resolve()).as_posix()
        except ValueError:
            raise BadRepository(f"{path} is not inside the repository {top}") from None
    prefix = git(repo, "rev-parse", "--show-prefix").decode().strip()
    return (Path(prefix) / candidate).as_posix() if prefix else candidate.as_posix()


def commits(repo: Path, path: str, *, follow: bool = False) -> list[Commit]:
    """The commits that changed ``path``, oldest first, each with the file's path then."""
    args = ["log", "-z", "--format=%x01%H %ct", "--name-status"]
    if follow:
        # Not with --reverse: git applies --reverse before --follow has found the renames and
        # then lists only the newest name's commits. The list is reversed here instead.
        args.append("--follow")
    out = git(repo, *args, "--", path).decode("utf-8", "surrogateescape")
    found: list[tuple[str, int, str | None]] = []
    for chunk in out.split("\x01")[1:]:
        header, _, rest = chunk.partition("\0")
        sha, _, seconds = header.partition(" ")
        paths = _paths(rest)
        if paths is None:
            continue  # the file was deleted by this commit: there is nothing to read
        if len(set(paths)) > 1:
            raise BadRepository(f"{path} names more than one file; give the path of one page")
        found.append((sha, int(seconds), paths[0] if paths else None))
    found.reverse()
    history: list[Commit] = []
    current = path
    previous: datetime | None = None
    for sha, epoch, here in found:
        # A merge lists no files: the file kept the path it had.
        current = here or current
        committed = datetime.fromtimestamp(epoch, UTC)
        # Commit times can go backwards (clock skew, rebases); history is stored in commit
        # order, so such a commit is placed a second after the one before it.
        at = (
            committed
            if previous is None or committed > previous
            else previous + timedelta(seconds=1)
        )
        history.append(Commit(sha, committed, at, current))
        previous = at
    return history


def _paths(name_status: str) -> list[str] | None:
    """The paths a commit's name-status gives the file (the new one of a rename), or None
    when the commit deleted it."""
    fields = [f for f in name_status.lstrip("\n").split("\0") if f]
    paths: list[str] = []
    i = 0
    while i < len(fields):
        status = fields[i]
        if status[:1] in ("R", "C"):
            paths.append(fields[i + 2])
            i += 3
        else:
            if status[:1] == "D":
                return None
            paths.append(fields[i + 1])
            i += 2
    return paths


def backfill_git(
    sessions: sessionmaker[Session],
    source: str,
    repo: Path,
    path: str,
    *,
    follow: bool = False,
    fmt: Format | None = None,
    url: str | None = None,
    routes: Sequence[RouteConfig] = (),
    notify: bool = False,
    progress: Progress | None = None,
) -> list[Step]:
    """Import every version of ``path`` in the clone at ``repo`` as a snapshot of ``source``.

    ``url`` is the source's URL if it has to be created (default: the file in the clone).
    Each commit is its own transaction, so an interrupted backfill resumes where it stopped.
    """
    path = repo_path(repo, path)
    history = commits(repo, path, follow=follow)
    if not history:
        raise BadRepository(f"no commit in {repo} changed {path}")
    page_format = fmt or guess_format(Path(path))
    with sessions.begin() as session:
        existing = store.get_source(session, source)
        if existing is None:
            where = url or (repo.resolve() / path).as_uri()
            existing = store.get_or_create_source(session, source, where, page_format)
        known = set(
            session.scalars(
                select(Snapshot.origin_ref).where(
                    Snapshot.source_id == existing.id, Snapshot.origin == "backfill"
                )
            )
        )
    steps: list[Step] = []
    for done, commit in enumerate(history, start=1):
        if commit.sha in known:
            steps.append(Step(commit, None))
        else:
            body = git(repo, "cat-file", "blob", f"{commit.sha}:{commit.path}")
            # The snapshot's url is the file's path in the repository at that commit.
            item = ImportItem(Path(commit.path), body, origin_ref=commit.sha, at=commit.at)
            (outcome,) = import_pages(
                sessions,
                source,
                [item],
                origin="backfill",
                fmt=page_format,
                routes=routes,
                notify=notify,
            )
            steps.append(Step(commit, outcome))
        if progress is not None:
            progress(done, len(history), commit)
    return steps
