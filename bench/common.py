"""What the benchmarks share: the page versions, a local origin, urlwatch, child measurements.

Every figure is taken against a real local HTTP origin (a threaded ``http.server`` in the
benchmark's process) serving real pages from the corpus, with no validators (no ETag or
Last-Modified), so watcher and urlwatch both download and compare the whole page every time.
"""

from __future__ import annotations

import compileall
import os
import random
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
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


# A user's install writes watcher's bytecode (__pycache__) on its first run, and every run
# after reads it. With PYTHONDONTWRITEBYTECODE set, as on the machine these figures were
# taken on, nothing is written and each measured command would compile watcher's modules
# from source (about 30 ms of each start-up there): compile them once, as that first run
# would. (pip has compiled the installed dependencies already.)
compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "watcher"), quiet=1)


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
    """A local page server: ``pages`` maps a path to the body served there, changeable live;
    a path in ``changing`` serves the next of its bodies on every request (the last repeats).
    """

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        self.changing: dict[str, Iterator[bytes]] = {}
        self.hits = 0
        self.url = ""

    def page_url(self, path: str) -> str:
        return self.url + path


def postgres_url() -> str | None:
    """The scratch PostgreSQL database the benchmarks may empty, if one is given."""
    return os.environ.get("WATCHER_BENCH_POSTGRES_URL") or os.environ.get(
        "WATCHER_TEST_POSTGRES_URL"
    )


def certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem): the test servers' own."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.delivery.servers import make_certificate

    return make_certificate(directory)


@contextmanager
def serve(origin: Origin, tls: tuple[Path, Path] | None = None) -> Iterator[Origin]:
    """Serve ``origin`` on 127.0.0.1, over TLS with ``tls`` (cert, key) when given."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real origin (and its CDN) allows
        # Headers and body go out in separate writes: without this, Nagle's algorithm meets
        # the client's delayed ACK and every response waits 40 ms, for both tools alike.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            origin.hits += 1
            versions = origin.changing.get(self.path)
            if versions is not None:
                origin.pages[self.path] = next(versions, origin.pages.get(self.path, b""))
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
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    origin.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
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


# The launcher ``measure`` starts: a bare interpreter (-I -S: no site, no user paths, about
# 9 MiB resident) that forks the command, waits for it and writes its wall time, its peak
# resident memory and its exit status to the pipe it was given. A child forked straight from
# the benchmark would count the benchmark's own resident pages in its peak: Linux carries the
# forking process's high-water mark over into the child's, through exec (with vfork too,
# which shares the parent's memory until then). Forked from the launcher it carries the
# launcher's, a floor of about 9 MiB below any figure measured here. The clock runs in the
# launcher, from just before the fork to the end of the wait: the launcher's own start-up is
# not counted.
LAUNCHER = """
import os, sys, time
report = int(sys.argv[1])
os.set_inheritable(report, False)
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
cpu = usage.ru_utime + usage.ru_stime
code = os.waitstatus_to_exitcode(status)
os.write(report, f"{seconds!r} {usage.ru_maxrss} {code} {cpu!r}".encode())
"""


def measure(
    argv: Sequence[str], cwd: Path, env: dict[str, str] | None = None, *, check: bool = True
) -> Run:
    """Run a command to its end in a fresh process: its wall time, CPU time and its own peak
    resident memory, through the launcher above. The command is run as given (its first word
    a path: the installed console script, as a user runs it). Exit status other than 0 raises unless
    ``check`` is False."""
    exe = shutil.which(argv[0]) if os.sep not in argv[0] else argv[0]
    if exe is None:
        raise SystemExit(f"{argv[0]}: not found")
    read, write = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", LAUNCHER, str(write), exe, *argv[1:]],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write,),
        )
        os.close(write)
        write = -1
        stderr = child.stderr.read().decode() if child.stderr else ""
        child.wait()
        with os.fdopen(read, "rb") as pipe:
            read = -1
            report = pipe.read().decode().split()
    finally:
        for fd in (read, write):
            if fd >= 0:
                os.close(fd)
    if len(report) != 4:
        raise SystemExit(f"{' '.join(argv)}: the launcher reported nothing:\n{stderr}")
    seconds, peak_kib, code = float(report[0]), int(report[1]), int(report[2])
    cpu = float(report[3])
    if check and code != 0:
        raise SystemExit(f"{' '.join(argv)} exited {code}:\n{stderr}")
    return Run(seconds, peak_kib / 1024, code, cpu)


class Urlwatch:
    """urlwatch (a bench dependency) watching one URL, with its own files in ``workdir``."""

    def __init__(self, workdir: Path, url: str, env: dict[str, str] | None = None) -> None:
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
        self.env = env
        # The first run writes its default config; the second stores the page. Both untimed.
        for _ in range(2):
            subprocess.run(self.argv, cwd=workdir, check=True, capture_output=True, env=env)

    def run(self) -> Run:
        return measure(self.argv, self.workdir, self.env)


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
