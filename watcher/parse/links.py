"""The normal form of a link on the page, so that a cosmetic rewrite is no change and a
retarget to another article is one.

The page's documentation links come in every spelling the docs site and its sources use:
relative to the page's own file (``../../batch/managed-identity-pools.md``), absolute on the
site (``/azure/batch/managed-identity-pools``), with the host (``https://learn.microsoft.com``
or the older ``docs.microsoft.com``), with a locale (``/en-us/``), with the source's ``.md``
suffix, with HTML entities (``&amp;``), with query parameters that only pick a tab or keep a
view. They all name one article: its site path, case-folded, with the queries that matter.

A relative link is resolved against where the page is published. The matrix-era page and
its successor were sources in ``MicrosoftDocs/azure-docs`` (``articles/…`` is published as
``/azure/…``); since 2024 the successor is in ``MicrosoftDocs/entra-docs`` (``docs/…`` is
``/entra/…``). The page moved with its folder and the old URLs redirect to the new ones, so
the old folder is folded into the new one: a link to a sibling article is the same before
and after the move.
"""

from __future__ import annotations

import html
import posixpath
import re
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

__all__ = ["AZURE_FOLDER", "ENTRA_FOLDER", "Resolver", "published_folder"]

# Where the page's source file is published, per documentation repository.
AZURE_FOLDER = "/azure/active-directory/managed-identities-azure-resources/"
ENTRA_FOLDER = "/entra/identity/managed-identities-azure-resources/"
# Site paths that are one place under two names: the identity docs' move to entra-docs.
_FOLDED = ((AZURE_FOLDER, ENTRA_FOLDER),)
# Hosts of the docs site; a link to them is a site path.
_SITE_HOSTS = frozenset({"learn.microsoft.com", "docs.microsoft.com", "review.learn.microsoft.com"})
# Query parameters that pick a tab or keep a view: the same article either way.
_COSMETIC_QUERY = frozenset({"tabs", "pivots", "view", "preserve-view", "wt.mc_id"})
_LOCALE = re.compile(r"^/[a-z]{2}(?:-[a-z]{2,4})?(?=/)")


def published_folder(service: str | None, canonical: str | None = None) -> str:
    """The site folder the page is published in: from a published page's canonical URL
    when it has one, else from its ``ms.service`` (``entra-id`` pages are entra-docs')."""
    if canonical:
        path = _site_path(canonical)
        if path is not None:
            return posixpath.dirname(path).rstrip("/") + "/"
    if (service or "").strip().casefold() in ("entra-id", "entra"):
        return ENTRA_FOLDER
    return AZURE_FOLDER


def _site_path(href: str) -> str | None:
    """The locale-free site path of an absolute URL on the docs site, else None."""
    parts = urlsplit(href)
    if parts.hostname not in _SITE_HOSTS:
        return None
    return _LOCALE.sub("", parts.path) or "/"


@lru_cache(maxsize=8192)
def normal_href(href: str, folder: str = ENTRA_FOLDER) -> str:
    """``href`` in its normal form, resolved against ``folder`` (see the module docstring).
    A link elsewhere than the docs site keeps its host; only its fragment goes."""
    href = html.unescape(href).strip()
    if not href or href.startswith("#"):
        return href
    parts = urlsplit(href)
    if parts.scheme in ("http", "https") and parts.hostname not in _SITE_HOSTS:
        host = (parts.hostname or "").casefold()
        path = parts.path.rstrip("/")
        kept = f"?{parts.query}" if parts.query else ""
        return f"{parts.scheme}://{host}{path}{kept}"
    if parts.scheme and parts.scheme not in ("http", "https"):
        return href  # mailto:, a bare scheme: nothing to fold
    path = parts.path
    if path.startswith("~/articles/"):
        path = "/azure/" + path.removeprefix("~/articles/")
    elif not path.startswith("/"):
        path = posixpath.join(folder, path)
    path = _LOCALE.sub("", posixpath.normpath(path)).casefold()
    path = path.removesuffix(".md").removesuffix("/index").rstrip("/")
    for old, new in _FOLDED:
        if (path + "/").startswith(old):
            path = new + path[len(old) :]
    query = [(k, v) for k, v in parse_qsl(parts.query) if k.casefold() not in _COSMETIC_QUERY]
    return path + (f"?{urlencode(sorted(query))}" if query else "")


class Resolver:
    """Normal forms of a page's links, resolved against the folder it is published in."""

    __slots__ = ("folder",)

    def __init__(self, folder: str = ENTRA_FOLDER) -> None:
        self.folder = folder

    def all(self, hrefs: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normal_href(h, self.folder) for h in hrefs)
