"""The page's words: normal forms for keys, and the status a cell's text stands for.

Everything here is a dictionary lookup on a normal form, cached, because the same few
dozen cell texts repeat hundreds of times on a page. Only wordings seen on the page are
recognised; anything else is ``unknown`` and never guessed, so that a translated or
reworded page shows up as unknown cells rather than as silently wrong statuses.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from watcher.document import Status

BR = "<br>"

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

_ROWS: dict[str, str] = {
    "systemassigned": "system_assigned",
    "systemassignedidentity": "system_assigned",
    "systemassignedmanagedidentity": "system_assigned",
    "userassigned": "user_assigned",
    "userassignedidentity": "user_assigned",
    "userassignedmanagedidentity": "user_assigned",
}

_CLOUDS: dict[str, str] = {
    "allgenerallyavailableglobalazureregions": "global",
    "azureglobal": "global",
    "global": "global",
    "azurepubliccloud": "global",
    "azuregovernment": "usgov",
    "azureusgovernment": "usgov",
    "usgovernment": "usgov",
    "azuregermany": "germany",
    "azurechina21vianet": "china",
    "azurechina": "china",
    "azureoperatedby21vianet": "china",
    "microsoftazureoperatedby21vianet": "china",
}

_TABLE_COLUMNS: dict[str, str] = {
    "resourceid": "resource_id",
    "status": "status",
}


@lru_cache(maxsize=8192)
def normalize(text: str) -> str:
    """The comparison form of a label: case-folded, punctuation and whitespace removed.

    NFKC first so that full-width letters on translated pages fold like ASCII ones; a
    ``<br>`` separator counts as a space, not as the letters "br".
    """
    folded = unicodedata.normalize("NFKC", text.replace(BR, " ")).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


@lru_cache(maxsize=4096)
def canonical_row(text: str) -> str:
    """``system_assigned``/``user_assigned``, a cloud key for Cloud tables, else normalize()."""
    key = normalize(text)
    return _ROWS.get(key) or _CLOUDS.get(key) or key


@lru_cache(maxsize=4096)
def canonical_column(text: str) -> str:
    """A cloud key (``global``, ``usgov``, ``germany``, ``china``), ``resource_id``,
    ``status``, else normalize()."""
    key = normalize(text)
    return _CLOUDS.get(key) or _TABLE_COLUMNS.get(key) or key


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
