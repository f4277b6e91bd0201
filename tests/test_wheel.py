"""The distribution: a wheel built from the source installs into a fresh venv and works there.

Slow (a wheel build and a venv with every dependency, about half a minute with pip's cache);
marked `slow`, and part of the default run all the same: `pytest -m "not slow"` leaves it out.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.sourcetree import copy_repository

pytestmark = pytest.mark.slow

# The name on the package index; `watcher` there is somebody else's file watcher.
DIST_NAME = "azure-mi-watcher"


def _run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{argv} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_distribution_has_its_own_name() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DIST_NAME
    assert project["scripts"] == {"watcher": "watcher.cli:main"}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{DIST_NAME}`" in readme


def test_a_built_wheel_installs_into_a_fresh_venv_and_runs_the_demo(tmp_path: Path) -> None:
    src = copy_repository(tmp_path / "src")
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, src, cwd=tmp_path)
    (wheel,) = dist.glob("*.whl")
    assert wheel.name.startswith(DIST_NAME.replace("-", "_") + "-")

    # Every file of the package in the source (the page corpus, migrations, templates) is in
    # the wheel; only bytecode is left out.
    package = {
        str(p.relative_to(src))
        for p in (src / "watcher").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    with zipfile.ZipFile(wheel) as zf:
        shipped = set(zf.namelist())
    assert sorted(package - shipped) == []
    for wanted in ("corpus/en/", "storage/migrations/versions/", "delivery/templates/"):
        assert any(name.startswith("watcher/" + wanted) for name in shipped), wanted

    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, cwd=tmp_path)

    # Run from an empty folder, with no repository beside it, on the installed package alone.
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATCHER_", "PYTHON"))}
    watcher = venv / "bin" / "watcher"
    assert _run(watcher, "--version", cwd=empty, env=env) == "watcher, version 0.1.0\n"
    out = _run(watcher, "demo", cwd=empty, env=env)
    assert "page of 2025-05-09: demo-azure-managed-identities: snapshot 6" in out
    assert "format change accepted (confirmed by 2 later checks)" in out
    installed = _run(
        venv / "bin" / "python",
        "-c",
        "import watcher, pathlib; print(pathlib.Path(watcher.__file__).parent)",
        cwd=empty,
        env=env,
    ).strip()
    assert Path(installed).is_relative_to(venv), installed
    page = Path(installed) / "corpus" / "en" / "2021-11-09__MicrosoftDocs__03436ea.md"
    parsed = _run(watcher, "parse", page, "--format", "csv", cwd=empty, env=env)
    assert parsed.splitlines()[0] == "section,entity,row,column,raw,status"
    assert len(parsed.splitlines()) == 377
    assert sorted(p.name for p in empty.iterdir()) == []
