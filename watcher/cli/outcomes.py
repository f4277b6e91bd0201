"""What a check of one page did, told the way every command that stores a page tells it:
one line for people (``check``, ``import``, ``backfill git``, ``accept``, ``demo``) and one
object for ``check --format json``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from watcher.domain.outcome import Outcome


def outcome_line(o: Outcome) -> str:
    snap = f" snapshot {o.snapshot_id}" if o.snapshot_id is not None else ""
    if o.result == "failed":
        return f"{o.source}: FAILED: {o.error}"
    parts = {
        "baseline": f"baseline stored ({o.detail})",
        "changed": f"{o.changes} change(s), {o.notifications} notification(s) queued",
        "unchanged": f"no change{' (' + o.detail + ')' if o.detail else ''}",
        "not_modified": "not modified (304)",
        "quarantined": f"QUARANTINED: {o.detail}",
        "accepted": f"format change accepted ({o.detail})"
        + (f", {o.notifications} notification(s) queued" if o.notifications else "")
        if any(c.kind == "format_changed" for c in o.change_list)
        else f"accepted ({o.detail}): {o.changes} change(s), {o.notifications} notification(s)"
        " queued",
        "skipped": f"skipped: {o.detail}",
    }
    line = f"{o.source}:{snap} {parts[o.result]}"
    # A held snapshot this one confirmed was accepted first: said on the same line.
    for held in o.settled:
        line += f" (first {outcome_line(held).removeprefix(f'{held.source}: ')})"
    return line


def outcome_json(o: Outcome) -> dict[str, Any]:
    return {
        "source": o.source,
        "result": o.result,
        "snapshot": o.snapshot_id,
        "changes": o.changes,
        "notifications": o.notifications,
        "error": o.error,
        "detail": o.detail,
        # Held snapshots this check accepted first (a later version confirmed them).
        "settled": [outcome_json(held) for held in o.settled],
    }
