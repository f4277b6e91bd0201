"""A watchdog that ends one HTTP request when its time is up, wherever the request is.

httpx's timeouts bound each read, not the exchange: an origin that drips its headers a byte
a second never lets a read time out, and once held a check for 22 minutes. The watchdog
learns the request's socket from httpx's ``trace`` extension and, when the headers are late
or the deadline has come, shuts the socket down from a timer thread, which wakes the read
blocked on it. It needs a connection of the request's own (so ``Connection: close``): a
reused connection is never traced, and its socket never known.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import types
from typing import Any, Literal

Reason = Literal["headers", "deadline"]


class Watchdog:
    """Ends the request it traces once ``headers_within`` seconds pass without the whole of
    the headers, or ``ends_within`` seconds pass at all; ``fired`` says which happened."""

    def __init__(self, headers_within: float, ends_within: float) -> None:
        now = time.monotonic()
        self._end = now + ends_within
        self._headers_due = min(now + headers_within, self._end)
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None  # our own duplicate of the request's socket
        self._timer: threading.Timer | None = None
        self._done = False
        self.fired: Reason | None = None

    def __enter__(self) -> Watchdog:
        reason: Reason = "headers" if self._headers_due < self._end else "deadline"
        self._arm(self._headers_due, reason)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        with self._lock:
            self._done = True  # from here on `fired` is final
            if self._timer is not None:
                self._timer.cancel()
            if self._socket is not None:
                self._socket.close()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpx's ``trace`` extension: note the socket as it connects, and give the body
        the rest of the deadline once the headers are in."""
        if event == "connection.connect_tcp.complete":
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                self._hold(sock)
        elif event == "http11.receive_response_headers.complete":
            self._arm(self._end, "deadline")

    def _hold(self, sock: socket.socket) -> None:
        # A duplicate, not the object: TLS detaches the original when it wraps the socket,
        # and a descriptor number httpx closed could be reused by someone else's file.
        own = socket.fromfd(sock.fileno(), sock.family, sock.type)
        with self._lock:
            if self._socket is not None:
                self._socket.close()
            self._socket = own
            if self.fired:
                _shut(own)

    def _arm(self, at: float, reason: Reason) -> None:
        with self._lock:
            if self._done or self.fired:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(max(0.0, at - time.monotonic()), self._fire, (reason,))
            self._timer.daemon = True
            self._timer.start()

    def _fire(self, reason: Reason) -> None:
        with self._lock:
            if self._done or self.fired:
                return
            self.fired = reason
            if self._socket is not None:
                _shut(self._socket)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed already: nothing is left to wake
        sock.shutdown(socket.SHUT_RDWR)
