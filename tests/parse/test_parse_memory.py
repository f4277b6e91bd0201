"""Parsing gives back what it takes: a daemon parses every new version for months."""

from __future__ import annotations

from pathlib import Path

from watcher.parse import parse


def rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_rendering_the_same_page_many_times_does_not_grow_memory(corpus: Path) -> None:
    body = (corpus / "en/2021-01-28__MicrosoftDocs.md").read_bytes()
    for _ in range(20):
        parse(body, "markdown")
    before = rss_kib()
    for _ in range(200):
        parse(body, "markdown")
    # cmarkgfm's own wrapper lost about 0.6 MB per render here: 120 MB over 200 pages.
    assert rss_kib() - before < 16 * 1024
