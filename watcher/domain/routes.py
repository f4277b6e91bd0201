"""Which changes a notification route wants: its entity globs, columns, rows, kinds and
severity."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Protocol

from watcher.domain.document import SEVERITY_RANK, Change, Severity


class RouteFilter(Protocol):
    """What a route's configuration says it wants (``config.RouteConfig`` is one): the
    domain matches changes against it without depending on how it was configured."""

    @property
    def sources(self) -> tuple[str, ...]: ...
    @property
    def entities(self) -> tuple[str, ...]: ...
    @property
    def columns(self) -> tuple[str, ...]: ...
    @property
    def rows(self) -> tuple[str, ...]: ...
    @property
    def kinds(self) -> tuple[str, ...]: ...
    @property
    def min_severity(self) -> Severity: ...


# Kept in the change log but too noisy to notify unless a route names them in `kinds`.
QUIET_KINDS = frozenset({"value_changed", "link_changed"})


def _entity_matches(patterns: tuple[str, ...], change: Change) -> bool:
    if not patterns or not change.entity:
        # A section- or column-wide change concerns every entity in it.
        return True
    names = [change.entity, change.old_entity or ""]
    return any(
        fnmatchcase(name.casefold(), pattern.casefold())
        for pattern in patterns
        for name in names
        if name
    )


def wants(route: RouteFilter, source: str, change: Change) -> bool:
    if route.sources and source not in route.sources:
        return False
    if route.kinds:
        if change.kind not in route.kinds:
            return False
    elif change.kind in QUIET_KINDS:
        return False
    if SEVERITY_RANK[change.severity] < SEVERITY_RANK[route.min_severity]:
        return False
    # A change that concerns no single column (an entity added, a section removed) concerns
    # every column, so a column filter lets it through.
    if route.columns and change.column and change.column not in route.columns:
        return False
    if route.rows and change.row and change.row not in route.rows:
        return False
    return _entity_matches(route.entities, change)


def select(route: RouteFilter, source: str, changes: Iterable[Change]) -> list[int]:
    """Positions of the changes this route should hear about."""
    return [i for i, c in enumerate(changes) if wants(route, source, c)]
