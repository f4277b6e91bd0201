"""Real local origins: a threaded HTTP origin for daemon tests that counts requests and
concurrency, and a raw socket origin that drips its answer a byte at a time."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Origin:
    body: bytes = b""
    status: int = 200
    delay: float = 0.0
    hits: list[float] = field(default_factory=list)  # time.time() of each request
    active: int = 0
    max_active: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer (a check's connection closed) is no error of the
        # origin's; told on stderr from this thread, it landed in whatever command a test
        # was capturing then (CliRunner swaps sys.stderr for the whole process).
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextmanager
def serve_origin(origin: Origin) -> Iterator[Origin]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with origin.lock:
                origin.hits.append(time.time())
                origin.active += 1
                origin.max_active = max(origin.max_active, origin.active)
            try:
                time.sleep(origin.delay)
            finally:
                # Counted as active while it waits, not while the answer goes out: a client
                # may read the answer and send its next request before this thread runs on.
                with origin.lock:
                    origin.active -= 1
            body = origin.body if origin.status == 200 else b"down"
            self.send_response(origin.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin.url = f"http://127.0.0.1:{server.server_address[1]}/page.md"
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Drip:
    """What a dripping origin saw: when each connection came in."""

    url: str = ""
    connections: list[float] = field(default_factory=list)  # time.monotonic() of each


def page_head(body: bytes, extra: bytes = b"") -> bytes:
    """A 200's status line and headers for ``body``: 150-odd bytes, so 150-odd seconds of drip
    at one byte a second."""
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\nCache-Control: max-age=300\r\n%sConnection: close\r\n\r\n"
        % (len(body), extra)
    )


@contextmanager
def drip_origin(
    head: bytes,
    body: bytes = b"",
    every: float = 1.0,
    head_fast: bool = False,
    longest: float = 30.0,
) -> Iterator[Drip]:
    """A TCP origin answering every request with ``head`` then ``body``, one byte each ``every``
    seconds: the headers (or, with ``head_fast``, only the body) drip, and no read ever waits
    long enough to time out. A connection is hung up after ``longest`` seconds, so a client
    that nothing else stops stops there. Each connection has its own thread; all stop when
    the block ends."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    stop = threading.Event()
    drip = Drip(url=f"http://127.0.0.1:{server.getsockname()[1]}/page.md")

    quick, slow = (head, body) if head_fast else (b"", head + body)

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(quick)
                for i in range(min(len(slow), int(longest / every))):
                    if stop.wait(every):
                        return
                    conn.sendall(slow[i : i + 1])
            except OSError:
                pass  # the client hung up: what a bounded fetch does

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            drip.connections.append(time.monotonic())
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield drip
    finally:
        stop.set()
        thread.join()
        server.close()
