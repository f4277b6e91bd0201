"""The guard's judgement on real pages: a translated, broken or reformatted page is held,
the next version of the same page is not."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CORPUS, EN_CHAIN, STATUS_CHAIN
from watcher.domain.document import Document
from watcher.domain.guard import judge
from watcher.parse import parse

JA = CORPUS / "localized" / "ja-JP_2021-01-28.md"


def doc(path: Path) -> Document:
    return parse(path.read_bytes(), "markdown")


def test_judge_on_real_pages() -> None:
    en_2019, en_2021, en_2021_11 = (doc(p) for p in EN_CHAIN)
    assert judge(None, en_2021).accepted
    assert judge(en_2019, en_2021).accepted
    assert judge(en_2021, en_2021_11).accepted
    # Translated: the status words are unknown to the vocabulary.
    ja = judge(en_2021, doc(JA))
    assert not ja.accepted and "unreadable" in (ja.reason or "")
    # The matrix page replaced by the flat status page: the availability matrix is gone.
    flat = judge(en_2021_11, doc(STATUS_CHAIN[0]))
    assert not flat.accepted and "status cells are gone" in (flat.reason or "")
    # A page with no tables at all, and one that lost most of its services.
    empty = judge(en_2021, parse(b"# Services\n\nNothing here today.\n", "markdown"))
    assert not empty.accepted and "no tables" in (empty.reason or "")
    half = Document(records=en_2021.records[: len(en_2021.records) // 4], tables=10)
    lost = judge(en_2021, half)
    assert not lost.accepted and "entities are gone" in (lost.reason or "")
    # Status pages in a row are fine: they have no status cells to lose.
    assert judge(doc(STATUS_CHAIN[0]), doc(STATUS_CHAIN[1])).accepted
    assert judge(doc(STATUS_CHAIN[1]), doc(STATUS_CHAIN[2])).accepted
