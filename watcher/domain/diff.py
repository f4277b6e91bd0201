"""The semantic diff: what changed between two parsed pages, in the page's own terms.

``diff(old, new)`` pairs the sections, entities and cells of two documents and reports
typed changes ("Azure API Management · User assigned · Azure Government: Preview →
Available") in the order they stand on the new page. ``apply(old, changes)`` replays a
change set on the old records; it is the inverse the property tests hold ``diff`` to.

Pairing (watcher.domain.pairing) goes from the surest evidence to the weakest:

1. sections by key; a removed and an added heading that share most of their entities are
   one section under a new heading (reported once, as an ``entity_moved`` with no entity);
2. entities by key within paired sections (a different display text is a rename);
3. an entity key that left one section and appeared in another has moved;
4. a removed and an added entity of one section whose records agree (nearly) everywhere,
   that have something distinctive in common (similar documentation or Resource ID text,
   the same link, a distinctive word of the name) and that are each other's unique best
   match, were renamed. Two services that merely share "Not available" everywhere have
   nothing distinctive in common and stay one removal and one addition.

Everything left over is added or removed, one change per section, entity or attribute
(watcher.domain.emitting walks the pages; watcher.domain.changes builds each change;
watcher.domain.apply replays them).
"""

from __future__ import annotations

from watcher.domain.apply import apply
from watcher.domain.document import Change, Document
from watcher.domain.emitting import emit
from watcher.domain.pairing import index, pair

__all__ = ["apply", "diff"]


def diff(old: Document, new: Document) -> list[Change]:
    """The typed changes from ``old`` to ``new``, in the new page's order (removed things
    where they stood on the old page). Pure and deterministic; ``diff(a, a) == []``."""
    before, after = index(old.records), index(new.records)
    return emit(before, after, pair(before, after))
