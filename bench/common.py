"""What the benchmarks share: the page versions, a local origin, urlwatch, child measurements.

Every figure is taken against a real local HTTP origin (a threaded ``http.server`` in the
benchmark's process) serving real pages from the corpus, with no validators (no ETag or
Last-Modified), so watcher and urlwatch both download and compare the whole page every time.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE = "en/2021-11-09__MicrosoftDocs__03436ea.md"
CYCLE = {"Not available": "Preview", "Preview": "Available", "Available": "Not available"}
CELL = re.compile(r"(?<=\| )(Not available|Preview|Available)(?= \|)")
BIN = Path(sys.executable).parent


def corpus() -> Path:
    return Path(__file__).resolve().parents[1] / "watcher" / "corpus"


def versions(n: int, seed: int = 7) -> list[bytes]:
    """n successive versions of the real 2021-11-09 page, each a few status cells on from the
    one before ("Not available" → "Preview" → "Available" → ...), as a real history moves."""
    page = (corpus() / PAGE).read_text(encoding="utf-8")
    spans = [m.span() for m in CELL.finditer(page)]
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        for start, end in sorted(rng.sample(spans, 3), reverse=True):
            page = page[:start] + CYCLE[page[start:end]] + page[end:]
        spans = [m.span() for m in CELL.finditer(page)]
        out.append(page.encode())
    return out


class Origin:
    """A local page server: ``pages`` maps a path to the body served there, changeable live."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self.hits = 0
        self.url = ""

    def page_url(self, path: str) -> str:
        return self.url + path


@contextmanager
def serve(origin: Origin) -> Iterator[Origin]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real origin (and its CDN) allows
        # Headers and body go out in separate writes: without this, Nagle's algorithm meets
        # the client's delayed ACK and every response waits 40 ms, for both tools alike.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            origin.hits += 1
            body = origin.pages.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    origin.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float
    code: int
    cpu_seconds: float = 0.0  # the child's user + system time: less moved by a busy machine


def measure(argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run a command to its end: its wall time, CPU time and its own peak resident memory
    (wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {child.returncode}:\n{stderr}")
    return Run(elapsed, usage.ru_maxrss / 1024, child.returncode, usage.ru_utime + usage.ru_stime)


class Urlwatch:
    """urlwatch (a bench dependency) watching one URL, with its own files in ``workdir``."""

    def __init__(self, workdir: Path, url: str) -> None:
        exe = shutil.which("urlwatch", path=str(BIN)) or shutil.which("urlwatch")
        if exe is None:
            raise SystemExit("urlwatch is not installed: pip install -e '.[bench]'")
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "urls.yaml").write_text(f"name: page\nurl: {url}\n")
        self.argv = [
            exe,
            "--urls",
            str(workdir / "urls.yaml"),
            "--config",
            str(workdir / "urlwatch.yaml"),
            "--cache",
            str(workdir / "cache.db"),
        ]
        self.workdir = workdir
        # The first run writes its default config; the second stores the page. Both untimed.
        for _ in range(2):
            subprocess.run(self.argv, cwd=workdir, check=True, capture_output=True)

    def run(self) -> Run:
        return measure(self.argv, self.workdir)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def rss_mib() -> float:
    """This process's resident memory now."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
