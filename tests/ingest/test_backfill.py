"""`watcher backfill git` on a repository built here from the real page versions, with the
move from services-support-managed-identities.md to managed-identities-status.md."""

from __future__ import annotations

import itertools
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN, STATUS_CHAIN
from watcher.ingest.backfill import commits
from watcher.storage.engine import make_engine
from watcher.storage.models import Notification

OLD = "articles/active-directory/managed-identities-azure-resources/services-support-managed-identities.md"  # noqa: E501
NEW = "articles/active-directory/managed-identities-azure-resources/managed-identities-status.md"
CONTENT = ("kind", "severity", "section", "entity", "old_entity", "row", "column", "old_raw",
           "new_raw", "old_status", "new_status", "old_section")  # fmt: skip


def git(repo: Path, *args: str, when: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "docs",
        "GIT_AUTHOR_EMAIL": "docs@example.com",
        "GIT_COMMITTER_NAME": "docs",
        "GIT_COMMITTER_EMAIL": "docs@example.com",
    }
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commit_file(repo: Path, path: str, body: bytes, when: str, message: str) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_bytes(body)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, when=when)
    return git(repo, "rev-parse", "HEAD")


def noon(page: Path) -> str:
    """The version's date (its file name's) at 12:34:56 UTC."""
    return f"{page.name[:10]}T12:34:56Z"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """en chain under the old name, a pure rename, then the status pages under the new one;
    an unrelated commit in between. Returns the repo and the commit of each version."""
    root = tmp_path_factory.mktemp("docs-repo")
    git(root, "init", "-q", "-b", "main")
    shas = [
        commit_file(root, OLD, p.read_bytes(), noon(p), f"update {p.name}") for p in EN_CHAIN[:2]
    ]
    commit_file(root, "README.md", b"docs\n", "2021-03-01T00:00:00Z", "unrelated")
    shas.append(commit_file(root, OLD, EN_CHAIN[2].read_bytes(), noon(EN_CHAIN[2]), "update en 3"))
    git(root, "mv", OLD, NEW)
    git(root, "commit", "-q", "-m", "rename", when="2021-12-01T09:00:00Z")
    rename = git(root, "rev-parse", "HEAD")
    shas += [
        commit_file(root, NEW, p.read_bytes(), noon(p), f"status {p.name}") for p in STATUS_CHAIN
    ]
    return {"root": root, "shas": shas, "rename": rename}


def content(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in CONTENT) for r in rows]


def test_backfill_follows_the_rename_and_matches_import(repo: dict[str, Any], db_url: str) -> None:
    root, shas = repo["root"], repo["shas"]
    out = run("backfill", "git", str(root), NEW, "--source", "mi", "--follow", db=db_url).stdout
    assert "7 commit(s): 6 new snapshot(s)" in out  # the rename commit changed no byte
    assert f"{repo['rename'][:12]} 2021-12-01T09:00:00Z {NEW}: mi: snapshot" in out

    snaps = run_json("snapshots", "--source", "mi", db=db_url)
    pages = [*EN_CHAIN, *STATUS_CHAIN]
    assert [s["origin_ref"] for s in snaps] == shas
    assert [s["origin"] for s in snaps] == ["backfill"] * 6
    assert [s["fetched_at"] for s in snaps] == [noon(p) for p in pages]
    # The status page is a new format: the guard quarantines it, and the next commit in the
    # same format confirms it (history never shows one body twice), as it does on import.
    assert [s["state"] for s in snaps] == ["accepted"] * 6

    backfilled = run_json("changes", "--source", "mi", db=db_url)
    assert {r["detected_at"] for r in backfilled} == {noon(p) for p in pages[1:]}
    formats = [r for r in backfilled if r["kind"] == "format_changed"]
    assert [r["to_snapshot"] for r in formats] == [snaps[3]["id"]]

    run("import", *map(str, pages), "--source", "imported", db=db_url)
    imported = run_json("snapshots", "--source", "imported", db=db_url)
    assert [s["sha256"] for s in imported] == [s["sha256"] for s in snaps]
    assert [s["state"] for s in imported] == [s["state"] for s in snaps]
    assert content(run_json("changes", "--source", "imported", db=db_url)) == content(backfilled)

    # Each change carries the commits it lies between.
    export = run_json("export", "--source", "mi", "--format", "json", db=db_url)
    assert {(r["from_origin_ref"], r["to_origin_ref"]) for r in export} == set(
        itertools.pairwise(shas)
    )
    old_name = [r for r in export if r["to_origin_ref"] in shas[:3]]
    assert old_name and all(
        r["to_url"].endswith("services-support-managed-identities.md") for r in old_name
    )


def test_backfill_twice_adds_nothing(repo: dict[str, Any], db_url: str) -> None:
    args = ("backfill", "git", str(repo["root"]), NEW, "--source", "mi", "--follow")
    run(*args, db=db_url)
    snaps, changes = run_json("snapshots", db=db_url), run_json("changes", db=db_url)
    out = run(*args, db=db_url).stdout
    assert "7 commit(s): 0 new snapshot(s)" in out
    assert out.count("already stored") == 7
    assert run_json("snapshots", db=db_url) == snaps
    assert run_json("changes", db=db_url) == changes


def test_without_follow_history_starts_at_the_rename(repo: dict[str, Any], db_url: str) -> None:
    run("backfill", "git", str(repo["root"]), NEW, "--source", "mi", db=db_url)
    snaps = run_json("snapshots", db=db_url)
    assert [s["origin_ref"] for s in snaps] == [repo["rename"], *repo["shas"][3:]]
    # The old name alone: the en chain, and not the commit that moved the file away.
    run("backfill", "git", str(repo["root"]), OLD, "--source", "old", db=db_url)
    old = run_json("snapshots", "--source", "old", db=db_url)
    assert [s["origin_ref"] for s in old] == repo["shas"][:3]


def test_backfill_queues_notifications_only_with_notify(
    repo: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text('[[routes]]\nname = "log"\nchannel = "stdout"\n')
    args = ("backfill", "git", str(repo["root"]), OLD, "--follow")

    def queued() -> int:
        engine = make_engine(db_url)
        with engine.connect() as conn:
            count = conn.scalar(select(func.count()).select_from(Notification))
        engine.dispose()
        return int(count or 0)

    run(*args, "--source", "quiet", db=db_url, config=str(config))
    assert queued() == 0
    run(*args, "--source", "loud", "--notify", db=db_url, config=str(config))
    assert queued() == 2  # one per version that changed something


def test_bad_repository_or_path_is_a_usage_error(
    repo: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    result = run("backfill", "git", str(tmp_path), NEW, "--source", "x", db=db_url, code=2)
    assert "not a git work tree" in result.stderr
    result = run(
        "backfill", "git", str(repo["root"]), "nope.md", "--source", "x", db=db_url, code=2
    )
    assert "no commit" in result.stderr and "nope.md" in result.stderr


def test_commit_times_that_go_backwards_keep_commit_order(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    first = commit_file(tmp_path, "p.md", b"one\n", "2021-05-02T00:00:00Z", "one")
    second = commit_file(tmp_path, "p.md", b"two\n", "2021-05-01T00:00:00Z", "two (skewed clock)")
    found = commits(tmp_path, "p.md")
    assert [c.sha for c in found] == [first, second]
    assert [c.committed_at for c in found] == [
        datetime(2021, 5, 2, tzinfo=UTC),
        datetime(2021, 5, 1, tzinfo=UTC),
    ]
    assert [c.at for c in found] == [
        datetime(2021, 5, 2, tzinfo=UTC),
        datetime(2021, 5, 2, 0, 0, 1, tzinfo=UTC),
    ]
