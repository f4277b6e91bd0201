"""The JSON API under ``/api/v1/``: each answer is the array of flat objects the command
line prints with ``--format json`` (the same queries, the same fields, the same order).

The change log and the snapshots come a page at a time: ``limit`` rows (default 100 and
1000), and while more follow, a ``Link: <...>; rel="next"`` header (RFC 8288) whose URL
carries the ``after`` cursor; following the links until none is left yields exactly the
command line's array. The schema is served at ``/api/v1/openapi.json`` (watcher.web.openapi).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watcher.audit.changes import change_page
from watcher.audit.compare import diff_rows
from watcher.audit.history import history_rows
from watcher.audit.snapshots import snapshot_page
from watcher.audit.state import state_rows
from watcher.audit.status import status_rows
from watcher.web import params
from watcher.web.openapi import schema
from watcher.web.pages import read


def _json(rows: list[dict[str, Any]], request: Request, next_cursor: int | None = None) -> Response:
    headers = {}
    if next_cursor is not None:
        query = dict(request.query_params)
        query["after"] = str(next_cursor)
        url = request.url.replace_query_params(**query)
        headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
    return JSONResponse(rows, headers=headers)


def changes(request: Request) -> Response:
    q = request.query_params
    rows, next_cursor = read(
        request,
        change_page,
        params.change_filter(q),
        after=params.integer(q, "after"),
        limit=params.limit(q, 100),
    )
    return _json(rows, request, next_cursor)


def state(request: Request) -> Response:
    q = request.query_params
    at, entity = params.when(q, "at"), params.text(q, "entity")
    return _json(read(request, state_rows, params.text(q, "source"), at, entity), request)


def history(request: Request) -> Response:
    q = request.query_params
    entity = params.text(q, "entity")
    if entity is None:
        raise params.BadRequest("entity: name an entity (any spelling, or a glob)")
    source, row, column = (params.text(q, k) for k in ("source", "row", "column"))
    return _json(
        read(request, history_rows, entity, source=source, row=row, column=column), request
    )


def snapshots(request: Request) -> Response:
    q = request.query_params
    rows, next_cursor = read(
        request,
        snapshot_page,
        params.text(q, "source"),
        after=params.integer(q, "after"),
        limit=params.limit(q, 1000),
    )
    return _json(rows, request, next_cursor)


def status(request: Request) -> Response:
    return _json(read(request, status_rows, request.app.state.config), request)


def diff(request: Request) -> Response:
    q = request.query_params
    old, new = params.required_integer(q, "old"), params.required_integer(q, "new")
    return _json(read(request, diff_rows, old, new), request)


def openapi(request: Request) -> Response:
    return JSONResponse(schema())


ROUTES = [
    Route("/changes", changes),
    Route("/state", state),
    Route("/history", history),
    Route("/snapshots", snapshots),
    Route("/status", status),
    Route("/diff", diff),
    Route("/openapi.json", openapi),
]
