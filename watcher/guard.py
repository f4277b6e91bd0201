"""Decide whether a freshly parsed document is believable next to the last accepted one.

A page that lost most of its entities, has no tables at all, or suddenly has many cells the
vocabulary cannot read is far more likely a broken or reformatted page than a real change:
such a document is quarantined instead of being diffed into "everything was removed".
Pure: documents in, verdict out.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.document import Document


@dataclass(frozen=True)
class GuardPolicy:
    max_entity_loss: float = 0.5  # share of the last accepted entities that may vanish at once
    max_unknown_increase: float = 0.2  # rise in the share of unknown status cells
    # Pages with fewer status cells than this are too small for the share rules to mean much.
    min_unknown_cells: int = 10
    confirmations: int = 2  # later checks that must see the same body before it is accepted


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str | None = None


def _unknown_share(doc: Document) -> tuple[int, float]:
    counts = doc.status_counts()
    total = sum(counts.values())
    unknown = counts.get("unknown", 0)
    return unknown, (unknown / total if total else 0.0)


def judge(previous: Document | None, new: Document, policy: GuardPolicy = GuardPolicy()) -> Verdict:
    if not new.records:
        what = "no tables" if new.tables == 0 else "tables but no readable cells"
        return Verdict(False, f"the page has {what}")
    if previous is None or not previous.records:
        return Verdict(True)
    # By entity alone: a renamed or moved section is not a loss of its services.
    old_entities = {r.entity_key for r in previous.records}
    lost = old_entities - {r.entity_key for r in new.records}
    if old_entities and len(lost) / len(old_entities) > policy.max_entity_loss:
        return Verdict(
            False,
            f"{len(lost)} of {len(old_entities)} entities are gone at once "
            f"(more than {policy.max_entity_loss:.0%})",
        )
    old_cells = sum(previous.status_counts().values())
    new_cells = sum(new.status_counts().values())
    if old_cells >= policy.min_unknown_cells and (old_cells - new_cells) / old_cells > (
        policy.max_entity_loss
    ):
        # The services may all still be listed, but the availability matrix is gone.
        return Verdict(
            False,
            f"{old_cells - new_cells} of {old_cells} status cells are gone at once "
            f"(more than {policy.max_entity_loss:.0%})",
        )
    old_unknown, old_share = _unknown_share(previous)
    new_unknown, new_share = _unknown_share(new)
    if (
        new_unknown - old_unknown >= policy.min_unknown_cells
        and new_share - old_share > policy.max_unknown_increase
    ):
        return Verdict(
            False,
            f"{new_unknown} status cells are unreadable, up from {old_unknown} "
            f"({old_share:.0%} → {new_share:.0%})",
        )
    return Verdict(True)
