"""Decide whether a freshly parsed document is believable next to the last accepted one.

The guard judges what a page *is*, never how often it was seen. A page with no tables or
records, an unreadable page (another language, words the vocabulary does not know), a page
dated before the accepted one, an older published version served again, or a page that
only lost content is held for an operator (``operator``): served a hundred times, it is
still not the page. A fully readable page with structure the accepted page did not have
(the 2021 switch from the availability matrix to the status page) is a believable new
format (``shape``): later checks that find it unchanged accept it, as one
``format_changed`` event. A page of the same shape that drops or adds more entities at once
than a real edit does waits for a second look (``second_look``): a later, different version
of the page that shows the same loss or addition confirms it; the same bytes served again
do not. Pure: documents in, verdict out; the pipeline stores and acts on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from watcher.domain.document import Change, Document

Hold = Literal["shape", "second_look", "operator"]
AcceptAs = Literal["diff", "format"]


@dataclass(frozen=True)
class GuardPolicy:
    # Share of the last accepted entities (or status cells) that may vanish at once before
    # the page is quarantined outright.
    max_entity_loss: float = 0.5
    # Entities removed at once beyond max(count, share of the accepted ones) wait for a
    # second look; so do more entities added at once than second_look_added.
    second_look_removed: int = 3
    second_look_removed_share: float = 0.05
    second_look_added: int = 1000
    max_unknown_increase: float = 0.2  # rise in the share of unknown status cells
    # Pages with fewer status cells than this are too small for the share rules to mean much.
    min_unknown_cells: int = 10
    # The record counts a new format accepted without an operator may have.
    min_records: int = 10
    max_records: int = 50_000
    confirmations: int = 2  # later checks that must see a new format unchanged


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    reason: str | None = None
    hold: Hold | None = None  # for a page not accepted: what may accept it
    # Entity keys the page removed and added against the accepted page (renames paired).
    removed: frozenset[str] = frozenset()
    added: frozenset[str] = frozenset()
    # The diff against the accepted page, when the guard computed it.
    changes: tuple[Change, ...] | None = None

    def confirms(self, held: Verdict) -> bool:
        """This later page shows the same loss or addition the held page is waiting on."""
        return (
            held.hold == "second_look"
            and self.hold == "second_look"
            and held.removed <= self.removed
            and held.added <= self.added
        )


def _unknown(doc: Document) -> tuple[int, int]:
    counts = doc.status_counts()
    return counts.get("unknown", 0), sum(counts.values())


def _columns(doc: Document) -> frozenset[str]:
    return frozenset(r.column_key for r in doc.records)


def _entities(doc: Document) -> frozenset[str]:
    return frozenset(r.entity_key for r in doc.records if r.entity_key)


def _hold(reason: str, hold: Hold = "operator") -> Verdict:
    return Verdict(False, reason, hold)


def _unreadable(previous: Document, new: Document, policy: GuardPolicy) -> str | None:
    old_unknown, old_total = _unknown(previous)
    new_unknown, new_total = _unknown(new)
    old_share = old_unknown / old_total if old_total else 0.0
    new_share = new_unknown / new_total if new_total else 0.0
    if (
        new_unknown - old_unknown >= policy.min_unknown_cells
        and new_share - old_share > policy.max_unknown_increase
    ):
        return (
            f"{new_unknown} status cells are unreadable, up from {old_unknown} "
            f"({old_share:.0%} → {new_share:.0%}): another language or words the parser "
            "does not know"
        )
    return None


def _hard_loss(previous: Document, new: Document, policy: GuardPolicy) -> str | None:
    # By entity alone: a renamed or moved section is not a loss of its services.
    old_entities = _entities(previous)
    lost = old_entities - _entities(new)
    if old_entities and len(lost) / len(old_entities) > policy.max_entity_loss:
        return (
            f"{len(lost)} of {len(old_entities)} entities are gone at once "
            f"(more than {policy.max_entity_loss:.0%})"
        )
    old_cells = _unknown(previous)[1]
    new_cells = _unknown(new)[1]
    if old_cells >= policy.min_unknown_cells and (old_cells - new_cells) / old_cells > (
        policy.max_entity_loss
    ):
        # The services may all still be listed, but the availability matrix is gone.
        return (
            f"{old_cells - new_cells} of {old_cells} status cells are gone at once "
            f"(more than {policy.max_entity_loss:.0%})"
        )
    return None


def new_shape(previous: Document, new: Document, policy: GuardPolicy = GuardPolicy()) -> bool:
    """Fully readable and with columns the accepted page did not have: a believable format."""
    return (
        new.tables > 0
        and policy.min_records <= len(new.records) <= policy.max_records
        and _unknown(new)[0] <= _unknown(previous)[0]
        and bool(_columns(new) - _columns(previous))
    )


def judge(
    previous: Document | None,
    new: Document,
    policy: GuardPolicy = GuardPolicy(),
    *,
    same_as: int | None = None,
    superseded_by: int | None = None,
) -> Verdict:
    """The verdict on ``new`` next to the last accepted document.

    ``same_as``/``superseded_by``: the new body is byte for byte an earlier accepted snapshot
    that a later one replaced (the caller looks it up): an older version served again.
    """
    if not new.records:
        what = "no tables" if new.tables == 0 else "tables but no readable cells"
        return _hold(f"the page has {what}")
    if previous is None or not previous.records:
        return Verdict(True)
    held = _not_the_page(previous, new, policy, same_as, superseded_by)
    if held is not None:
        return held
    return _by_the_diff(previous, new, policy)


def _not_the_page(
    previous: Document,
    new: Document,
    policy: GuardPolicy,
    same_as: int | None,
    superseded_by: int | None,
) -> Verdict | None:
    """A hold for a page that is not the page, told without a diff: an older version
    (by its date or its bytes), unreadable, or mostly gone. None when none of these."""
    if new.ms_date and previous.ms_date and new.ms_date < previous.ms_date:
        return _hold(
            f"the page is dated {new.ms_date} (ms.date), older than the accepted page "
            f"({previous.ms_date}): an older version served again"
        )
    if same_as is not None:
        later = f", which snapshot {superseded_by} replaced" if superseded_by is not None else ""
        return _hold(
            f"the page is byte for byte snapshot {same_as}{later}: an older version served again"
        )
    unreadable = _unreadable(previous, new, policy)
    if unreadable is not None:
        return _hold(unreadable)
    hard = _hard_loss(previous, new, policy)
    if hard is None:
        return None
    if new_shape(previous, new, policy):
        return _hold(hard, "shape")
    if _entities(new) <= _entities(previous):
        return _hold(f"{hard}; the page only lost content")
    return _hold(hard)


def _by_the_diff(previous: Document, new: Document, policy: GuardPolicy) -> Verdict:
    """Accepted, or held for a second look when it removes or adds more entities at once
    than a real edit does (renames paired by the diff are neither)."""
    # Imported here: a cron check that finds the page unchanged loads the guard's policy
    # (watcher.ingest.check), never the differ.
    from watcher.domain.diff import diff

    changes = tuple(diff(previous, new))
    old_keys, new_keys = _entities(previous), _entities(new)
    renamed = [c for c in changes if c.kind == "entity_renamed"]
    removed = old_keys - new_keys - {c.old_entity_key for c in renamed if c.old_entity_key}
    added = new_keys - old_keys - {c.entity_key for c in renamed}
    limit = max(policy.second_look_removed, policy.second_look_removed_share * len(old_keys))
    reasons = []
    if len(removed) > limit:
        reasons.append(
            f"{len(removed)} of {len(old_keys)} entities removed at once "
            f"(more than {limit:g}), as a half-rendered page would"
        )
    if len(added) > policy.second_look_added:
        reasons.append(
            f"{len(added)} entities added at once (more than {policy.second_look_added})"
        )
    if reasons:
        return Verdict(False, "; ".join(reasons), "second_look", removed, added, changes)
    return Verdict(True, changes=changes, removed=removed, added=added)


def accept_as(
    previous: Document | None, new: Document, policy: GuardPolicy = GuardPolicy()
) -> AcceptAs:
    """How an accepted held page is recorded: diffed cell by cell when it reads like the
    accepted page (same columns, readable, not mostly gone), else as one format change."""
    if previous is None or not previous.records or not new.records:
        return "format"
    if _columns(new) - _columns(previous):
        return "format"
    if _unreadable(previous, new, policy) is not None or _hard_loss(previous, new, policy):
        return "format"
    return "diff"


def operator_decides(snapshot_id: int) -> str:
    """The commands an operator decides a held snapshot with, as every message names them."""
    return f"`watcher accept {snapshot_id}` or `watcher reject {snapshot_id}` decides it"


def decision(hold: Hold | None, snapshot_id: int, policy: GuardPolicy = GuardPolicy()) -> str:
    """What decides a held snapshot, in the words of an ops notice."""
    commands = operator_decides(snapshot_id)
    if hold == "shape":
        return (
            "It reads as a new page format: it becomes the baseline when "
            f"{policy.confirmations} more checks find it unchanged (one format_changed "
            f"event); {commands}."
        )
    if hold == "second_look":
        return (
            "It is held for a second look: a later version of the page that shows the same "
            f"change accepts it, the accepted page returning ends it; {commands}."
        )
    return (
        "It stays quarantined however often it is served, until the accepted page returns; "
        f"{commands}."
    )
