"""The floor plan holds: imports point one way between folders, and no module needs another
to be imported first.

Layers, lowest first: ``domain``; ``parse``; ``storage``; ``config`` and ``journal``;
``delivery`` and ``audit`` (siblings, which never import each other); ``ingest``, which hands
its notices to delivery's outbox; ``web``, on the audit's queries; ``cli``. A module may
import its own folder and what ``MAY_IMPORT`` lists for it: lower layers, never a higher one
nor a sibling. Every import counts, including those inside functions (kept there for a lean
cron check) and those only for the type checker: a reader follows them all.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "watcher"

BELOW = {"domain", "parse", "storage"}
# What each folder (or top-level module) may import besides itself.
MAY_IMPORT: dict[str, set[str]] = {
    "domain": set(),
    "parse": {"domain"},
    "storage": {"domain", "parse"},
    "config": BELOW,
    "journal": BELOW,
    "delivery": BELOW | {"config", "journal"},
    "audit": BELOW | {"config"},
    "ingest": BELOW | {"config", "journal", "delivery"},
    # The web view sits on top like the command line, on the audit's queries; the command
    # line serves it (``watcher serve``, and the daemon with ``[web] enabled``).
    "web": BELOW | {"config", "audit"},
    "cli": BELOW | {"config", "journal", "delivery", "audit", "ingest", "web"},
    "__main__": {"cli"},
}
# Alembic's environment script is an entry point of its own (``alembic upgrade`` from a
# shell reads the configured database), run by Alembic and never imported by watcher.
ENTRY_POINTS = {"watcher.storage.migrations.env"}
FOLDERS = ("domain", "parse", "storage", "config", "ingest", "delivery", "audit", "web", "cli")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _part(module: str) -> str:
    """The folder (or top-level module) of ``watcher.x.y``; '' for the package itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(module: str, path: Path) -> set[str]:
    """Every watcher module this one imports, anywhere in it."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("watcher"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("watcher"):
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}"
                out.add(child if child in MODULES else base)
    return out


def test_every_folder_says_what_it_holds_and_what_it_may_import() -> None:
    for folder in FOLDERS:
        doc = ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text()))
        assert doc and "May import" in doc, f"watcher/{folder}/__init__.py"


def test_no_flat_module_is_left_beside_the_folders() -> None:
    flat = {p.stem for p in PACKAGE.glob("*.py")}
    assert flat == {"__init__", "__main__", "journal"}


def test_imports_point_one_way() -> None:
    wrong = []
    for module, path in MODULES.items():
        if module in ENTRY_POINTS:
            continue
        mine = _part(module)
        for target in sorted(_imports(module, path)):
            theirs = _part(target)
            if not theirs or theirs == mine:
                continue  # the package's own __version__, or within a folder
            if theirs not in MAY_IMPORT[mine]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(wrong)


def _import_alone(module: str) -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    return module, done.stderr.strip().splitlines()[-1] if done.returncode else ""


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """A cycle shows only when its modules are imported in one order: import each first."""
    # Alembic runs the migration scripts (their names are not identifiers) and env.py.
    mine = [
        m
        for m in MODULES
        if m != "watcher.__main__" and m not in ENTRY_POINTS and ".versions." not in m
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        failed = [f"{m}: {err}" for m, err in pool.map(_import_alone, mine) if err]
    assert not failed, "\n".join(failed)


# Tests of the project as a whole (its README, docs, files and packaging), beside the tests of
# the two top-level modules.
PROJECT_TESTS = {"docs", "readme_examples", "repository", "wheel", "layout", "deploy_files"}


def _named_for(stem: str, names: set[str]) -> bool:
    return any(stem == name or stem.startswith(f"{name}_") for name in names)


def test_tests_mirror_the_code() -> None:
    """tests/<folder>/test_<module>[_aspect].py for watcher/<folder>/<module>.py (or one of
    its packages, or the folder's own ``__init__`` by the folder's name): a newcomer finds a
    module's tests where the module is."""
    tests = ROOT / "tests"
    wrong = []
    for path in sorted(tests.rglob("test_*.py")):
        folder = path.parent.relative_to(tests)
        code = PACKAGE / folder
        if folder == Path("."):
            names = PROJECT_TESTS | {p.stem for p in PACKAGE.glob("*.py")}
        elif code.is_dir():
            names = (
                {p.stem for p in code.glob("*.py")}
                | {code.name}
                | {p.name for p in code.iterdir() if (p / "__init__.py").exists()}
            )
        else:
            wrong.append(f"{path.relative_to(ROOT)}: no watcher/{folder}")
            continue
        if not _named_for(path.stem.removeprefix("test_"), names):
            wrong.append(f"{path.relative_to(ROOT)}: names no module of watcher/{folder}")
    assert not wrong, "\n".join(wrong)


def _module_map() -> dict[str, str]:
    """The README's module map: each listed path (a module, or a package's folder) and its
    line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("## Development\n\n```\n", 1)[1].split("```", 1)[0]
    listed: dict[str, str] = {}
    folder = ""
    for line in block.splitlines():
        if not line.strip():
            continue
        name, _, what = line.strip().partition(" ")
        if line.startswith("watcher/"):
            folder = name if name.endswith("/") else ""
            listed[name] = what
        else:
            listed[folder + name] = what
    return listed


def test_the_readme_maps_every_module() -> None:
    listed = _module_map()
    missing = []
    for path in MODULES.values():
        rel = path.relative_to(ROOT).as_posix()
        if "versions" in path.parts or rel in listed:
            continue
        # A folder's line is its __init__'s; a package's modules may share its folder's
        # line, each named in it.
        folder = rel.rsplit("/", 1)[0] + "/"
        if folder in listed and (path.name == "__init__.py" or path.name in listed[folder]):
            continue
        missing.append(rel)
    assert not missing, "README's module map lacks: " + ", ".join(missing)
    stale = [p for p in listed if not (ROOT / p).exists()]
    assert not stale, "README's module map lists what is gone: " + ", ".join(stale)
