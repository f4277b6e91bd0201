"""The web view's ASGI application: its routes, its error answers, and the guard every
response passes — security headers on all, the bearer token on the API and the feeds.

Read-only: the routes answer GET (and HEAD) only. Each request reads the database in a
session of its own, in Starlette's thread pool (the queries are synchronous).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watcher.audit.compare import NoSuchSnapshot
from watcher.audit.sources import UnknownCursor, UnknownSource
from watcher.web import api, feeds, pages
from watcher.web.params import BadRequest
from watcher.web.render import environment

if TYPE_CHECKING:
    from watcher.config import Config

# No script at all, no inline style, nothing from another origin; no page in a frame, no
# referrer sent along a link out (a snapshot's URL may say more than its host).
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
PROTECTED = ("/api/", "/feeds/")


class Guard:
    """ASGI middleware: the security headers on every response, and with a token, a 401 for
    a request to the API or the feeds that does not bear it."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    def _bears_token(self, scope: Scope) -> bool:
        assert self.token is not None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, given = value.partition(b" ")
                if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token):
                    return True
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        path: str = scope["path"]
        if self.token is not None and path.startswith(PROTECTED) and not self._bears_token(scope):
            denied = JSONResponse(
                {"error": "a bearer token is needed (Authorization: Bearer ...)"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="watcher"'},
            )
            await denied(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def _error(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
    """An answer in one line, in the form the path asked for: JSON for the API, text for
    the feeds and the raw download, a page for the rest."""

    async def answer(request: Request, exc: Exception) -> Response:
        message = str(exc.args[0]) if exc.args else type(exc).__name__
        path = request.url.path
        if path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status)
        if path.startswith("/feeds/") or path.endswith("/raw"):
            return PlainTextResponse(message, status_code=status)
        body = (
            environment()
            .get_template("error.html")
            .render(title="Not found" if status == 404 else "Bad request", message=message)
        )
        return Response(body, status_code=status, media_type="text/html")

    return answer


def routes() -> list[BaseRoute]:
    return [
        *pages.ROUTES,
        Mount("/api/v1", routes=api.ROUTES),
        Route("/feeds/changes.atom", feeds.changes_feed),
        Mount("/static", StaticFiles(packages=[("watcher.web", "static")]), name="static"),
    ]


def create_app(
    sessions: sessionmaker[Session], config: Config, *, token: str | None = None
) -> ASGIApp:
    """The web view on the database of ``sessions``; ``config`` names the sources for the
    status page. With ``token``, the API and the feeds ask for it as a bearer token."""
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        BadRequest: _error(400),
        UnknownSource: _error(400),
        NoSuchSnapshot: _error(404),
        UnknownCursor: _error(404),
    }
    app = Starlette(routes=routes(), exception_handlers=handlers)
    app.state.sessions = sessions
    app.state.config = config
    return Guard(app, token)
