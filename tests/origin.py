"""A real threaded HTTP origin for daemon tests: counts requests and concurrency."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin.url = f"http://127.0.0.1:{server.server_address[1]}/page.md"
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()
