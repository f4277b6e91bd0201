"""The repository's own files, as a clone holds them: for tests that build or run a copy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT


def source_files(root: Path = ROOT) -> list[Path]:
    """Tracked files, plus new ones git does not ignore (no venv, caches or databases)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [root / name for name in listed.split("\0") if name and (root / name).is_file()]


def copy_repository(dest: Path, root: Path = ROOT) -> Path:
    """A copy of the repository's files at dest."""
    for path in source_files(root):
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return dest
