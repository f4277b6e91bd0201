"""Serving the web view on uvicorn: in the foreground (``watcher serve``) or on a thread of
the daemon (``watcher run`` with ``[web] enabled = true``).

The socket is bound here, before uvicorn starts, so a port in use is one line of error from
the command rather than a log record and an exit from inside the server. The bearer token
is read from the environment variable ``[web] token_env`` names, once, at start.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

import uvicorn
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from watcher.config import Config


log = logging.getLogger(__name__)


class WebSetupError(ValueError):
    """The web view cannot start as configured: a bad address or a missing token."""


def token(config: Config, environ: Mapping[str, str]) -> str | None:
    """The bearer token the API and the feeds ask for, or None when ``token_env`` is unset.
    A named variable that is unset or empty is an error (never an open API by mistake)."""
    name = config.web.token_env
    if name is None:
        return None
    value = environ.get(name, "").strip()
    if not value:
        raise WebSetupError(f"web.token_env: the environment variable {name} is not set")
    return value


def build(sessions: sessionmaker[Session], config: Config, environ: Mapping[str, str]) -> ASGIApp:
    from watcher.web.app import create_app

    return create_app(sessions, config, token=token(config, environ))


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (IPv4 or IPv6). Raises WebSetupError in one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebSetupError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise WebSetupError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def server(app: ASGIApp) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )
    return uvicorn.Server(config)


def url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def run(app: ASGIApp, sock: socket.socket) -> None:
    """Serve until SIGINT or SIGTERM, then return (exit status 0)."""
    # uvicorn handles both signals while it serves, and once stopped raises the one it got
    # again under the handlers it found: quiet ones make that a clean return.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: None)
    server(app).run(sockets=[sock])


class Background:
    """The web view on a thread of its own, for the daemon: ``stop`` ends it."""

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self.server = server(app)
        self.sock = sock
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, name="web", daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        log.info("web view on %s", url(self.sock))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
