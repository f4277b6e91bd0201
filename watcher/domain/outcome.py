"""What one check, import or backfill step of a source came to, as commands report it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from watcher.domain.document import Change

Result = Literal[
    "baseline",
    "changed",
    "unchanged",
    "not_modified",
    "quarantined",
    "accepted",
    "failed",
    "skipped",
]


@dataclass(frozen=True)
class Outcome:
    source: str
    result: Result
    snapshot_id: int | None = None
    changes: int = 0
    notifications: int = 0
    error: str | None = None
    detail: str = ""
    # The change set queued: the snapshot diffed against, and the routes that will hear it.
    from_snapshot_id: int | None = None
    queued_routes: tuple[str, ...] = ()
    change_list: tuple[Change, ...] = field(default=(), repr=False)
    # Held snapshots this step accepted on the way (a later version confirmed them), each
    # reported in its own right, before this one.
    settled: tuple[Outcome, ...] = ()
    # A quarantined page an operator has already rejected: nothing is left to decide.
    rejected: bool = False

    @property
    def queued(self) -> int:
        """Notifications queued by this step, the held snapshots it accepted included."""
        return self.notifications + sum(held.queued for held in self.settled)

    @property
    def all_changes(self) -> int:
        """Changes recorded by this step, the held snapshots it accepted included."""
        return self.changes + sum(held.all_changes for held in self.settled)

    @property
    def failed(self) -> bool:
        return self.result == "failed"
