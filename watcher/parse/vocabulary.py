"""The page's words: normal forms for keys, and the status a cell's text stands for.

Everything here is a dictionary lookup on a normal form, cached, because the same few
dozen cell texts repeat hundreds of times on a page. Only wordings seen on the page are
recognised; anything else is ``unknown`` and never guessed, so that a translated or
reworded page shows up as unknown cells rather than as silently wrong statuses.
"""

from __future__ import annotations

import re
from functools import lru_cache

from watcher.domain.document import BR, Status, normalize
from watcher.domain.keys import CLOUDS, IDENTITY_ROWS, ROWS, TABLE_COLUMNS

__all__ = [
    "BR",
    "IDENTITY_ROWS",
    "canonical_column",
    "canonical_row",
    "classify",
    "identity_types",
    "normalize",
]

Parts = tuple[tuple[str, str], ...]

_WORD = re.compile(r"\w+")

_STATUS_WORDS: dict[str, Status] = {
    "available": "available",
    "check": "available",  # the check image's alt text on older revisions
    "generallyavailable": "available",
    "preview": "preview",
    "publicpreview": "preview",
    "privatepreview": "preview",
    "inpreview": "preview",
    "notavailable": "not_available",
}

_IDENTITY_KEY = {"system": "system_assigned", "user": "user_assigned"}
# One identity type as a cell names it: "System-assigned", "user assigned identity",
# "User-assigned (preview)". No separator is required around it: third-party renderings of
# the page lose the <br/> and run the types together ("System-assignedUser-assigned").
_IDENTITY_TYPE = re.compile(
    r"(system|user)[\s\-_]*assigned(?:[\s\-_]*(?:managed[\s\-_]*)?identit(?:y|ies))?"
    r"(\s*\(\s*(?:public\s+|private\s+)?preview\s*\))?",
    re.IGNORECASE,
)
# What may stand between the types: separators of every rendering seen, and "and".
_IDENTITY_FILLER = re.compile(r"(?:<br>|[\s,;/&|]|\band\b)*", re.IGNORECASE)
IdentityRecord = tuple[str, str, Status]  # (row key, raw part, status)


@lru_cache(maxsize=4096)
def canonical_row(text: str) -> str:
    """``system_assigned``/``user_assigned``, a cloud key for Cloud tables, else normalize()."""
    key = normalize(text)
    return ROWS.get(key) or CLOUDS.get(key) or key


@lru_cache(maxsize=4096)
def canonical_column(text: str) -> str:
    """A cloud key (``global``, ``usgov``, ``germany``, ``china``), ``resource_id``,
    ``status``, else normalize()."""
    key = normalize(text)
    return CLOUDS.get(key) or TABLE_COLUMNS.get(key) or key


def _status_of(text: str) -> Status:
    key = normalize(text)
    found = _STATUS_WORDS.get(key)
    if found is not None:
        return found
    # "Available in the region where Azure Stack Edge service is available", "Available in
    # supported regions": a qualified yes. Not when the qualification names another state.
    if key.startswith("availablein"):
        words = set(_WORD.findall(text.casefold()))
        if "preview" not in words and "not" not in words:
            return "available"
    return "unknown"


@lru_cache(maxsize=4096)
def classify(raw: str) -> tuple[Status, Parts]:
    """The status of one cell's text (``<br>`` separating its parts), with the labelled
    parts when they differ: ``Linux: Preview<br>Windows: Not available`` is ``mixed``.

    Parts are returned only for ``mixed``. One unknown part makes the whole cell unknown:
    a half-understood cell is not a status.
    """
    pieces = [p for p in raw.split(BR) if p.strip()]
    if len(pieces) <= 1:
        text = pieces[0] if pieces else ""
        status = _status_of(text)
        if status == "unknown" and ":" in text:
            status = _status_of(text.split(":", 1)[1])
        return status, ()
    labels: list[str] = []
    statuses: list[Status] = []
    for piece in pieces:
        label, status = "", _status_of(piece)
        if status == "unknown" and ":" in piece:
            head, tail = piece.split(":", 1)
            label, status = head.strip(), _status_of(tail)
        if status == "unknown":
            return "unknown", ()
        labels.append(label)
        statuses.append(status)
    if len(set(statuses)) == 1:
        return statuses[0], ()
    return "mixed", tuple(zip(labels, statuses, strict=True))


@lru_cache(maxsize=1024)
def identity_types(raw: str) -> tuple[IdentityRecord, ...]:
    """One record per identity type (``IDENTITY_ROWS``) for an identity-types cell.

    A type the cell lists is ``available`` (``preview`` when marked so) with its own part of
    the cell as raw text; a type it does not list is ``not_available`` with empty raw text,
    so a type gained or lost changes that type's record alone. An empty cell, or one with
    anything besides identity types and separators, says nothing: every type is
    ``unknown`` and carries the whole cell text.
    """
    found: dict[str, tuple[str, Status]] = {}
    rest: list[str] = []
    end = 0
    for match in _IDENTITY_TYPE.finditer(raw):
        rest.append(raw[end : match.start()])
        end = match.end()
        key = _IDENTITY_KEY[match.group(1).casefold()]
        status: Status = "preview" if match.group(2) else "available"
        found.setdefault(key, (" ".join(match.group(0).split()), status))
    rest.append(raw[end:])
    readable = bool(found) and all(_IDENTITY_FILLER.fullmatch(piece) for piece in rest)
    if not readable:
        return tuple((key, raw, "unknown") for key, _ in IDENTITY_ROWS)
    return tuple((key, *found.get(key, ("", "not_available"))) for key, _ in IDENTITY_ROWS)
