"""Email: the HTML body (jinja2 templates in ``watcher/delivery/templates``, autoescaped), the
plain-text body, and a subject that is always one line.

The templates only make HTML, so autoescape is on for all of them; ``StrictUndefined`` makes
a value the code forgot to pass an error, not an empty string in someone's inbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from watcher.delivery.render.message import TEXT_MARK, Group
from watcher.domain.describe import clean

if TYPE_CHECKING:
    from jinja2 import Environment


@lru_cache(maxsize=1)
def _jinja() -> Environment:
    # Imported on first use: a cron check that sends nothing never loads jinja2.
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("watcher.delivery", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def html(template: str, **values: Any) -> str:
    """The template (a file in watcher/delivery/templates) rendered with ``values``."""
    return _jinja().get_template(template).render(**values)


def subject_line(text: str) -> str:
    """A mail subject: one line, no CR/LF whatever the page or the source name held."""
    return clean(text, 200)


def text_body(head: Sequence[str], groups: Sequence[Group], route: str) -> str:
    """The plain-text part: the head lines, then each group's lines under its title (and
    each page section's name when there are several)."""
    out = [*head, "", *group_text(groups)]
    out.append(f"-- \nSent by watcher for route {route}.")
    return "\n".join(out) + "\n"


def group_text(groups: Sequence[Group]) -> list[str]:
    """The lines of the groups, each group's under its title, a blank line after each."""
    several = len({g.section for g in groups}) > 1
    out: list[str] = []
    section: str | None = None
    for g in groups:
        if several and g.section != section:
            section = g.section
            out += [f"== {section or 'the page'} ==", ""]
        out.append(g.title)
        for line in g.lines:
            out.append(f"  {TEXT_MARK[line.mark]} {line.text}")
            out.extend(f"      {d.text()}" for d in line.details)
            if line.more:
                out.append(f"      … and {line.more} more rows")
            out.extend(f"      • {item}" for item in line.listing)
        out.append("")
    return out
