"""The change log's shape, named once: the JSON fields of a stored change (``watcher
changes --format json``, the export, the signed webhook's ``changes``) and of the provenance
of a snapshot (its sha256, the time it stands for, how it was obtained, from where).

``watcher.audit`` lists and exports the change log with these; ``watcher.delivery`` puts the
same rows in a webhook's body, so a receiver reads what the command line prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import DateTime, type_coerce

from watcher.domain.times import iso, iso_stored
from watcher.storage.models import ChangeRow, Snapshot, Source

CHANGE_FIELDS = (
    "id",
    "source",
    "detected_at",
    "from_snapshot",
    "to_snapshot",
    "kind",
    "severity",
    "section",
    "entity",
    "old_entity",
    "row",
    "column",
    "old_raw",
    "new_raw",
    "old_status",
    "new_status",
    "old_section",
    "row_label",
    "column_label",
    "old_links",
    "new_links",
)
# The fields a stored ChangeRow and a freshly computed Change share, by the same names.
CHANGE_BODY = CHANGE_FIELDS[5:]

# Where a snapshot came from, as the export prefixes them (from_sha256, to_origin, ...).
PROVENANCE = ("sha256", "fetched_at", "origin", "origin_ref", "url")


def change_body(change: object) -> dict[str, Any]:
    """The CHANGE_BODY fields of a stored ChangeRow or a computed Change."""
    body = {name: getattr(change, name) for name in CHANGE_BODY}
    # Arrays of hrefs, empty when the change retargeted nothing (stored as NULL then).
    body["old_links"] = list(body["old_links"] or ())
    body["new_links"] = list(body["new_links"] or ())
    return body


# The columns of CHANGE_FIELDS, in their order: a query selecting these gives tuples that
# ``change_row_of`` turns into rows without building a ChangeRow per change (the listing of
# a long change log is mostly that cost). The time is read as the naive UTC it is stored
# as, and written as ISO 8601 directly: the same text as ``iso`` of the aware time.
CHANGE_COLUMNS: tuple[Any, ...] = (
    ChangeRow.id,
    Source.name,
    type_coerce(ChangeRow.detected_at, DateTime()).label("detected_at"),
    ChangeRow.from_snapshot_id,
    ChangeRow.to_snapshot_id,
    *(getattr(ChangeRow, name) for name in CHANGE_BODY),
)
_DETECTED_AT = CHANGE_FIELDS.index("detected_at")
# The fields holding arrays (of hrefs): a listing writes them over lines of their own.
CHANGE_ARRAYS = ("old_links", "new_links")
_OLD_LINKS, _NEW_LINKS = (CHANGE_FIELDS.index(name) for name in CHANGE_ARRAYS)


def change_values_of(values: Sequence[Any]) -> list[Any]:
    """The values, in CHANGE_FIELDS order, of the row of a change selected as
    CHANGE_COLUMNS: ``change_row_of`` without the keys, what a long listing is written from."""
    out = list(values)
    at = out[_DETECTED_AT]
    out[_DETECTED_AT] = iso_stored(at) if at.tzinfo is None else iso(at)
    # Arrays of hrefs, empty when the change retargeted nothing (stored as NULL then).
    links = out[_OLD_LINKS]
    out[_OLD_LINKS] = list(links) if links else []
    links = out[_NEW_LINKS]
    out[_NEW_LINKS] = list(links) if links else []
    return out


def change_row_of(values: Sequence[Any]) -> dict[str, Any]:
    """The row of a change selected as CHANGE_COLUMNS: what ``change_row`` gives for it."""
    return dict(zip(CHANGE_FIELDS, change_values_of(values), strict=True))


def change_row(c: ChangeRow, source: str) -> dict[str, Any]:
    """One stored change with its id, source, time and snapshots: the CHANGE_FIELDS."""
    return {
        "id": c.id,
        "source": source,
        "detected_at": iso(c.detected_at),
        "from_snapshot": c.from_snapshot_id,
        "to_snapshot": c.to_snapshot_id,
        **change_body(c),
    }


def provenance(s: Snapshot) -> dict[str, Any]:
    """A snapshot's id and its PROVENANCE fields."""
    values = (s.sha256, iso(s.taken_at), s.origin, s.origin_ref, s.url)
    return {"id": s.id, **dict(zip(PROVENANCE, values, strict=True))}
