"""The signed webhook's JSON body: a documented, versioned schema for a receiver's own tooling.

``{"schema": "watcher.notification", "version": 1, "type": "changes" | "digest" | "ops" |
"test", ...}`` (``digest``: a version 1 addition, made in ``render.digest``).
A change notification names its source, both snapshots with their sha256 and provenance
(``storage.changelog.provenance``) and its changes as ``watcher changes --format json`` lists
them (``storage.changelog.change_row``, the same fields and values: page text as stored, for a
program to read, not markup). README.md, "Signed webhooks", documents every field.

The body is made once, as bytes, so the bytes signed are the bytes sent, and a retry sends
the very same body under the same ``webhook-id``.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from watcher.delivery.render.message import ChangeSet
from watcher.domain.times import iso

SCHEMA = "watcher.notification"
VERSION = 1


def body(kind: str, key: str, route: str, **fields: Any) -> bytes:
    document = {"schema": SCHEMA, "version": VERSION, "type": kind, "id": key, "route": route}
    document.update(fields)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def changes_body(cs: ChangeSet, key: str, counted: str) -> bytes:
    """The body of a change notification; ``counted`` is its ``message.summary``, made once
    by the caller (it describes every change)."""
    return body(
        "changes",
        key,
        cs.route,
        source={"name": cs.source, "url": cs.page_url, "title": cs.page_title},
        summary=counted,
        **change_set_fields(cs),
    )


def change_set_fields(cs: ChangeSet) -> dict[str, Any]:
    """A change set's snapshots and changes, as a ``changes`` body and a digest's
    ``change_sets`` give them."""
    return {
        "total": cs.total if cs.total is not None else len(cs.changes),
        "from_snapshot": dict(cs.from_provenance) if cs.from_provenance else None,
        "to_snapshot": dict(cs.to_provenance) if cs.to_provenance else {"id": cs.to_snapshot},
        "changes": [dict(row) for row in cs.log],
    }


def ops_body(
    *, key: str, event: str, text: str, source: str | None, at: datetime, route: str
) -> bytes:
    return body("ops", key, route, event=event, text=text, source=source, at=iso(at))


def notify_test_body(*, key: str, route: str, at: datetime) -> bytes:
    return body("test", key, route, at=iso(at))
