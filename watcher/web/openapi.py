"""The API's OpenAPI 3.1 schema, written out from the same field lists the queries fill
(watcher.audit's CHANGE_FIELDS, STATE_FIELDS, ...), so a field added to a query is added
here too."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from watcher import __version__
from watcher.audit.changes import CHANGE_FIELDS
from watcher.audit.history import HISTORY_FIELDS
from watcher.audit.snapshots import SNAPSHOT_FIELDS
from watcher.audit.state import STATE_FIELDS
from watcher.audit.status import STATUS_FIELDS
from watcher.domain import known

_INT = {"type": "integer"}
_NULL_INT = {"type": ["integer", "null"]}
_TEXT = {"type": "string"}
_NULL_TEXT = {"type": ["string", "null"]}
_LINKS = {"type": "array", "items": {"type": "string"}}
# Each field's type where it is not text that may be null.
_TYPES: dict[str, dict[str, Any]] = {
    "id": _NULL_INT,  # a freshly computed diff's rows have none
    "from_snapshot": _NULL_INT,
    "to_snapshot": _INT,
    "snapshot": _INT,
    "change": _NULL_INT,
    "records": _INT,
    "failures_in_row": _INT,
    "pending": _INT,
    "held": _INT,
    "dead": _INT,
    "stuck": _INT,
    "old_links": _LINKS,
    "new_links": _LINKS,
    "source": _TEXT,
    "kind": {"type": "string", "enum": list(known.KINDS)},
    "severity": {"type": "string", "enum": list(known.SEVERITIES)},
}


def _rows(name: str, fields: Sequence[str]) -> dict[str, Any]:
    return {
        "title": name,
        "type": "array",
        "items": {
            "type": "object",
            "required": list(fields),
            "properties": {f: _TYPES.get(f, _NULL_TEXT) for f in fields},
        },
    }


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_SOURCE = _query("source", "Only this source (a stored one; another is a 400 naming them).")
_LIMIT = _query("limit", "Rows per page.", type="integer", minimum=1, maximum=1000)
_AFTER = _query("after", "The cursor from the previous page's Link header.", type="integer")
_FILTERS = [
    _SOURCE,
    _query("since", "From this ISO 8601 date or datetime (UTC unless an offset is given)."),
    _query("until", "Up to this date (a bare date includes the day)."),
    _query("entity", "Entity name glob, case-insensitive."),
    _query("column", "Column key.", type="string", enum=list(known.columns())),
    _query("kind", "Change kind.", type="string", enum=list(known.KINDS)),
    _query("severity", "Minimum severity.", type="string", enum=list(known.SEVERITIES)),
]
_ERROR = {
    "description": "A parameter the command line would refuse too, in one line.",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
            }
        }
    },
}


def _get(summary: str, rows: str, parameters: list[Any], *, paged: bool = False) -> Any:
    ok: dict[str, Any] = {
        "description": summary,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{rows}"}}},
    }
    if paged:
        ok["headers"] = {
            "Link": {
                "description": 'The next page, as <URL>; rel="next", while one follows.',
                "schema": {"type": "string"},
            }
        }
    return {
        "get": {
            "summary": summary,
            "operationId": rows,
            "parameters": parameters,
            "security": [{}, {"bearer": []}],
            "responses": {"200": ok, "400": _ERROR, "401": _ERROR, "404": _ERROR},
        }
    }


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    entity = _query("entity", "A name in any spelling, or a glob.")
    history_entity = {**entity, "required": True}
    old = {**_query("old", "The older snapshot's id.", type="integer"), "required": True}
    new = {**_query("new", "The newer snapshot's id.", type="integer"), "required": True}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "watcher",
            "version": __version__,
            "description": "The rows of `watcher changes`, `state`, `history`, `snapshots`, "
            "`status` and `diff` with `--format json`, read-only.",
        },
        "paths": {
            "/api/v1/changes": _get(
                "The change log, oldest first.", "changes", [*_FILTERS, _LIMIT, _AFTER], paged=True
            ),
            "/api/v1/state": _get(
                "The page as it stood at a moment.",
                "state",
                [_SOURCE, _query("at", "ISO 8601 date or datetime; default now."), entity],
            ),
            "/api/v1/history": _get(
                "Each cell's values as intervals.",
                "history",
                [
                    history_entity,
                    _SOURCE,
                    _query("row", "Only this row key."),
                    _query("column", "Only this column key."),
                ],
            ),
            "/api/v1/snapshots": _get(
                "Stored snapshots.", "snapshots", [_SOURCE, _LIMIT, _AFTER], paged=True
            ),
            "/api/v1/status": _get("Each source's status.", "status", []),
            "/api/v1/diff": _get("Any two stored snapshots, diffed now.", "diff", [old, new]),
        },
        "components": {
            "schemas": {
                "changes": _rows("changes", CHANGE_FIELDS),
                "diff": _rows("diff", CHANGE_FIELDS),
                "state": _rows("state", STATE_FIELDS),
                "history": _rows("history", HISTORY_FIELDS),
                "snapshots": _rows("snapshots", SNAPSHOT_FIELDS),
                "status": _rows("status", STATUS_FIELDS),
            },
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
