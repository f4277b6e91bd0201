"""The web view's pages: the matrix now and as of a date (``/``), cell and entity timelines
(``/history``), the change log (``/changes``), the diff of two snapshots (``/diff``), the
snapshots and each one (``/snapshots``), and the status (``/status``).

Each page asks watcher.audit the question the command line asks and renders the answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import groupby
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from watcher.audit.changes import change_page, changes_by_id
from watcher.audit.compare import NoSuchSnapshot, diff_rows
from watcher.audit.history import history_rows
from watcher.audit.snapshots import snapshot_body, snapshot_page, snapshot_row, snapshot_rows
from watcher.audit.state import state_rows
from watcher.audit.status import status_rows
from watcher.storage import store
from watcher.storage.models import Snapshot
from watcher.web import params
from watcher.web.matrix import tables
from watcher.web.render import environment

P = ParamSpec("P")
T = TypeVar("T")


def read(
    request: Request, query: Callable[Concatenate[Session, P], T], *args: P.args, **kw: P.kwargs
) -> T:
    """``query(session, ...)`` in a session of its own."""
    with request.app.state.sessions() as session:
        return query(session, *args, **kw)


def render(name: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(environment().get_template(name).render(**context))


def change_sets(rows: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], list[Any]]]:
    """Rows of the change log grouped by the check that found them (source and snapshot
    pair): (its first row, its rows)."""
    groups = []
    for _, found in groupby(
        rows, key=lambda r: (r["source"], r["from_snapshot"], r["to_snapshot"])
    ):
        items = list(found)
        groups.append((items[0], items))
    return groups


def now(request: Request) -> Response:
    """The page's state as tables, now or ``at`` a date, with the snapshot it stands on."""
    q = request.query_params
    at = params.when(q, "at")
    source = params.text(q, "source")

    def answer(session: Session) -> tuple[list[dict[str, Any]], dict[int, Any]]:
        rows = state_rows(session, source, at)
        snaps = {i: snapshot_row(session, i) for i in sorted({r["snapshot"] for r in rows})}
        return rows, snaps

    rows, snaps = read(request, answer)
    return render(
        "now.html", tables=tables(rows), snapshots=snaps, at=params.text(q, "at"), source=source
    )


# An entity's page shows each cell's latest values; a cell's own page shows all of them.
ENTITY_RECENT = 12


def history(request: Request) -> Response:
    """The timeline of an entity's cells (or of one cell, with ``row`` and ``column``)."""
    q = request.query_params
    entity = params.text(q, "entity")
    if entity is None:
        raise params.BadRequest("entity: name an entity (any spelling, or a glob)")
    source, row, column = (params.text(q, k) for k in ("source", "row", "column"))
    keep = None if row or column else ENTITY_RECENT

    def answer(session: Session) -> tuple[list[Any], dict[int, dict[str, Any]]]:
        rows = history_rows(session, entity, source=source, row=row, column=column)
        cells = []
        for key, found in groupby(
            rows, key=lambda r: (r["source"], r["section"], r["entity"], r["row"], r["column"])
        ):
            values = list(found)
            shown = values if keep is None else values[-keep:]
            cells.append((key, shown, len(values) - len(shown)))
        ids = (r["change"] for _, shown, _ in cells for r in shown if r["change"])
        return cells, changes_by_id(session, ids)

    cells, changes = read(request, answer)
    return render(
        "history.html", entity=entity, row=row, column=column, cells=cells, changes=changes
    )


def changes(request: Request) -> Response:
    """The change log, newest first, a page at a time, with the command line's filters."""
    q = request.query_params
    f = params.change_filter(q)
    after = params.integer(q, "after")
    rows, next_cursor = read(
        request, change_page, f, after=after, limit=params.limit(q, 100), newest_first=True
    )
    return render(
        "changes.html",
        sets=change_sets(rows),
        query=q,
        next_link=(
            params.filter_query(q, keep=(*params.FILTERS, "limit"), after=next_cursor)
            if next_cursor
            else None
        ),
        feed_link=params.filter_query(q),
    )


def diff(request: Request) -> Response:
    """Any two stored snapshots diffed now, as ``watcher diff``."""
    q = request.query_params
    old, new = params.integer(q, "old"), params.integer(q, "new")
    if old is None or new is None:
        return render("diff.html", rows=None, old=old, new=new, snapshots={})

    def answer(session: Session) -> tuple[list[dict[str, Any]], dict[int, Any]]:
        rows = diff_rows(session, old, new)
        return rows, {i: snapshot_row(session, i) for i in (old, new)}

    rows, snaps = read(request, answer)
    return render("diff.html", rows=change_sets(rows), old=old, new=new, snapshots=snaps)


def snapshots(request: Request) -> Response:
    q = request.query_params
    source = params.text(q, "source")
    rows, next_cursor = read(
        request, snapshot_page, source, after=params.integer(q, "after"), limit=params.limit(q, 200)
    )
    return render("snapshots.html", rows=rows, source=source, next_cursor=next_cursor)


def snapshot(request: Request) -> Response:
    """A snapshot's metadata, its stored records and its page as text."""
    snapshot_id: int = request.path_params["snapshot_id"]

    def answer(session: Session) -> tuple[dict[str, Any] | None, Any, bytes | None]:
        row = snapshot_row(session, snapshot_id)
        snap = session.get(Snapshot, snapshot_id)
        if row is None or snap is None:
            raise NoSuchSnapshot(f"no snapshot {snapshot_id}")
        doc = store.load_document(session, snap, cached=False)
        return row, doc, snapshot_body(session, snapshot_id)

    row, doc, body = read(request, answer)
    text = (body or b"").decode("utf-8", errors="replace")
    return render("snapshot.html", snap=row, records=doc.records, body=text)


def raw(request: Request) -> Response:
    """The page's stored bytes, as a download: never rendered by the browser."""
    snapshot_id: int = request.path_params["snapshot_id"]
    body = read(request, snapshot_body, snapshot_id)
    if body is None:
        raise NoSuchSnapshot(f"no snapshot {snapshot_id}")
    disposition = f'attachment; filename="snapshot-{snapshot_id}.txt"'
    return Response(
        body, media_type="application/octet-stream", headers={"Content-Disposition": disposition}
    )


def status(request: Request) -> Response:
    """Each source's health and undelivered notifications, and the snapshots the guard holds
    with the command that settles each (the web view never writes)."""

    def answer(session: Session) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows = status_rows(session, request.app.state.config)
        return rows, snapshot_rows(session, state="quarantined")

    rows, held = read(request, answer)
    return render("status.html", rows=rows, held=held)


ROUTES = [
    Route("/", now),
    Route("/history", history),
    Route("/changes", changes),
    Route("/diff", diff),
    Route("/snapshots", snapshots),
    Route("/snapshots/{snapshot_id:int}", snapshot),
    Route("/snapshots/{snapshot_id:int}/raw", raw),
    Route("/status", status),
]
