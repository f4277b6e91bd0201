"""The pages' Jinja environment: templates shipped in the package, autoescaped, with the
filters they share.

Page text is shown as text: autoescaping makes ``<script>`` and ``<!channel>`` characters,
and ``visible`` shows the invisible controls that would reorder or hide what surrounds them
(a right-to-left override turns "txt.exe" around) as their code points instead.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup, escape

from watcher.audit.changes import describe_change
from watcher.domain.describe import STATUS_LABEL

# Bidirectional embeddings, overrides and isolates, marks, and zero-width characters.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def visible(value: Any) -> str:
    """Text with each invisible control shown as ⟨U+XXXX⟩."""
    if value is None:
        return ""
    return _INVISIBLE.sub(lambda m: f"⟨U+{ord(m.group()):04X}⟩", str(value))


def label(value: Any) -> Markup:
    """A header as the page writes it: a ``<br>`` in a label (the matrix's "All Generally
    Available<br>Global Azure Regions") is a line break; every other character is text."""
    return Markup("<br>").join(escape(part) for part in visible(value).split("<br>"))


def status_label(status: str | None, raw: str | None = None) -> str:
    if status is None:
        return visible(raw)
    return STATUS_LABEL.get(status, status)


def status_class(status: str | None) -> str:
    """The CSS class a cell is coloured by: one per status, ``text`` for a cell of text."""
    return f"st-{status}" if status in STATUS_LABEL else "st-text"


def short_time(value: str | None) -> str:
    """An ISO timestamp as date and minute: ``2021-01-28 00:00``."""
    if not value:
        return ""
    return value[:16].replace("T", " ")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("watcher.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        visible=visible,
        status_label=status_label,
        label=label,
        status_class=status_class,
        short_time=short_time,
        describe=lambda row: visible(describe_change(row)),
    )
    return env
