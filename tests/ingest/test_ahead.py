"""Pages read ahead in a worker process (watcher.ingest.ahead) come to exactly what they
come to read inline: the same Documents, the same stored bytes, the same history."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cliutil import run
from tests.conftest import EN_CHAIN, STATUS_CHAIN
from watcher.ingest import ahead
from watcher.ingest.importer import ImportItem, import_files
from watcher.parse import Format
from watcher.storage import store
from watcher.storage.engine import ensure_schema, make_engine, session_factory

CYCLE = {"Not available": "Preview", "Preview": "Available", "Available": "Not available"}
CELL = re.compile(r"(?<=\| )(Not available|Preview|Available)(?= \|)")


def history(folder: Path, later: int = 12) -> list[Path]:
    """20 files as a replayed history has them: the real English pages, twelve (``later``)
    versions of the last (a few status cells on each time), then the real status pages
    (a new format, which the guard holds until the next version confirms it), one of them
    again, and a 2019 version never stored (older than the latest: the import stops)."""
    page = EN_CHAIN[-1].read_text(encoding="utf-8")
    files = list(EN_CHAIN)
    for i in range(later):
        spans = [m.span() for m in CELL.finditer(page)]
        for start, end in sorted(spans[i * 7 % len(spans) :][:3], reverse=True):
            page = page[:start] + CYCLE[page[start:end]] + page[end:]
        path = folder / f"v{i:04d}.md"
        path.write_text(page, encoding="utf-8")
        files.append(path)
    files.extend(STATUS_CHAIN)
    files.append(STATUS_CHAIN[0])  # imported again: already stored
    older = folder / "older.md"  # a 2019 version never stored, after 2025: the import stops
    older.write_text(EN_CHAIN[0].read_text(encoding="utf-8") + "\n\nA late note.\n")
    files.append(older)
    return files


def pages(files: list[Path]) -> list[tuple[bytes, Format]]:
    return [(f.read_bytes(), "markdown") for f in files]


def counting(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The pages this process reads itself (a worker's reads are counted in its own copy)."""
    here: list[bytes] = []
    real = ahead.read

    def read(body: bytes, fmt: Format) -> ahead.Read:
        here.append(body)
        return real(body, fmt)

    monkeypatch.setattr(ahead, "read", read)
    return here


def test_a_worker_reads_every_page_as_it_reads_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = pages(history(tmp_path))
    inline = list(ahead.read_all(read, ahead=False))
    here = counting(monkeypatch)
    worked = list(ahead.read_all(read, ahead=True))
    assert worked == inline
    assert here == []  # every page was the worker's
    assert len(inline) == len(read) and all(r.document.records for r in inline)
    for page, (body, _) in zip(inline, read, strict=True):
        assert page.packed == store.pack(body, page.document)


_REAL = ahead._read_in_worker


def dying(body: bytes, fmt: Format) -> object:
    """The worker's work, but the worker dies at the 2021-01-28 page (as if killed)."""
    if b"ms.date: 01/28/2021" in body:
        os._exit(9)
    return _REAL(body, fmt)


def test_a_worker_that_dies_leaves_the_rest_to_be_read_inline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = pages(history(tmp_path))
    inline = list(ahead.read_all(read, ahead=False))
    monkeypatch.setattr(ahead, "_read_in_worker", dying)
    here = counting(monkeypatch)
    worked = list(ahead.read_all(read, ahead=True))
    assert worked == inline
    # The worker read the first page; this process the one it died at and every one after.
    assert here == [body for body, _ in read[1:]]


def dump(url: str) -> str:
    """What a user reads of the history: every change with its provenance, and the state."""
    changes = run("export", "--format", "json", db=url).stdout
    snaps = run("snapshots", "--format", "json", db=url).stdout
    return changes + snaps + run("state", "--format", "json", db=url).stdout


def test_watcher_import_stores_what_an_import_read_inline_stores(tmp_path: Path) -> None:
    """The console script (one thread: it forks a worker for 20 files) against the same
    files imported without one, both stopping at the same file having stored the same."""
    files = history(tmp_path)
    ahead_db, inline_db = tmp_path / "ahead.db", tmp_path / "inline.db"
    done = subprocess.run(
        [sys.executable, "-m", "watcher", "--db", f"sqlite:///{ahead_db}", "import"]
        + [str(f) for f in files]
        + ["--source", "mi"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("watcher: import stopped at ")
    assert done.stderr.endswith("; 19 of 20 files stored before it\n"), done.stderr

    engine = make_engine(f"sqlite:///{inline_db}")
    ensure_schema(engine)
    items = [ImportItem(f, f.read_bytes()) for f in files]
    with pytest.raises(Exception, match="19 of 20 files stored before it"):
        import_files(session_factory(engine), "mi", items, read_ahead=False)
    engine.dispose()
    assert dump(f"sqlite:///{ahead_db}") == dump(f"sqlite:///{inline_db}")


@pytest.mark.skipif(not ahead.can_fork(), reason="no worker is forked here (one core)")
def test_an_import_ended_by_sigterm_leaves_no_worker_behind(tmp_path: Path) -> None:
    """`kill`, a service manager's stop, a CI timeout: the importing process dies without
    running its `finally`, and its worker must die with it (it held the caller's output
    open, for ever)."""
    files = history(tmp_path, later=400)
    db = f"sqlite:///{tmp_path / 'w.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "watcher", "--db", db, "import", *map(str, files), "--source", "mi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert proc.stdout is not None
    for _ in range(20):  # twenty files stored: the worker is reading ahead
        assert proc.stdout.readline()
    os.kill(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=30)  # hangs while a worker holds the pipes
    assert proc.returncode == -signal.SIGTERM
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)  # anything left of the command's process group
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the worker outlived the import")
