"""The HTTP client a check fetches pages with: its timeouts, its User-Agent, and transports
made per scheme on first use, so a cron check of an http:// page never builds a TLS context.
"""

from __future__ import annotations

import ssl
import threading
from typing import TYPE_CHECKING
from urllib.request import getproxies

import httpx

if TYPE_CHECKING:
    from watcher.ingest.fetch import FetchPolicy


# The proxy variables that route a page's request (NO_PROXY alone routes nothing).
_PROXIED = frozenset({"http", "https", "all"})


def make_client(policy: FetchPolicy | None = None) -> httpx.Client:
    # fetch imports this module (make_client is its to callers): its names are read here.
    from watcher.ingest import fetch

    policy = policy or fetch.FetchPolicy()
    timeout = httpx.Timeout(
        connect=policy.connect_timeout, read=policy.read_timeout, write=10.0, pool=10.0
    )
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": fetch.USER_AGENT},
        # httpx reads HTTP(S)_PROXY / ALL_PROXY / NO_PROXY only when given no transport:
        # behind a proxy its own transports (and their eager TLS context) are the price.
        transport=None if _PROXIED & getproxies().keys() else _BySchemeTransport(),
    )


class _BySchemeTransport(httpx.BaseTransport):
    """httpx's own transport, one per scheme, each made when first asked for.

    httpx builds its TLS context (the CA bundle read: about 17 ms here) when the client is
    made, whether a request will use it or not; a cron check of an http:// page never does.
    The https transport is httpx's default one (certificates verified, ``SSL_CERT_FILE`` read
    as httpx reads it), made on the first https request. It is used only when the environment
    names no proxy (``make_client``): httpx applies proxies only to a client of its own
    transports. The http transport is given a TLS context that trusts nothing, so it reads no
    bundle and, were it ever asked for TLS, would refuse every certificate rather than accept
    one unchecked.
    """

    def __init__(self) -> None:
        self._made: dict[str, httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._for(request.url.scheme).handle_request(request)

    def _for(self, scheme: str) -> httpx.HTTPTransport:
        key = "https" if scheme == "https" else "http"
        with self._lock:  # checks of several sources share the client
            made = self._made.get(key)
            if made is None:
                if key == "https":
                    made = httpx.HTTPTransport()
                else:
                    made = httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
                self._made[key] = made
            return made

    def close(self) -> None:
        with self._lock:
            made, self._made = list(self._made.values()), {}
        for transport in made:
            transport.close()
