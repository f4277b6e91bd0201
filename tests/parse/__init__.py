"""Tests of watcher.parse, and where they find the real page history they are checked on.

The corpus lives in the repository, in ``watcher/corpus`` (its README gives each file's
provenance); the package bundles it for ``watcher demo``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import CORPUS
from watcher.domain.document import Document
from watcher.parse import PARSER_VERSION

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "data" / "golden"

# Every markdown version of the page in the corpus, by file name.
CORPUS_FILES = (
    "predecessor/2018-11-28__MicrosoftDocs__1c59c71__services-support-msi.md",
    "en/2019-06-19__MicrosoftDocs__a4b043d.md",
    "en/2021-01-28__MicrosoftDocs.md",
    "en/2021-11-09__MicrosoftDocs__03436ea.md",
    "localized/ja-JP_2021-01-28.md",
    "status-page/2021-12-08__MicrosoftDocs__00605c9.md",
    "status-page/2023-05-25__MicrosoftDocs__6f6728e.md",
    "status-page/2025-05-09__MicrosoftDocs-entra-docs__41d266e.md",
)


def corpus_file(name: str) -> Path:
    return CORPUS / name


def document_to_json(doc: Document) -> dict[str, Any]:
    """The golden form of a parsed page: everything the parser promises, in page order."""
    return {
        "parser_version": PARSER_VERSION,
        "title": doc.title,
        "ms_date": doc.ms_date,
        "tables": doc.tables,
        "warnings": list(doc.warnings),
        "records": [
            {
                "section": r.section,
                "entity": r.entity,
                "row": r.row,
                "column": r.column,
                "raw": r.raw,
                "status": r.status,
                "key": list(r.key),
                "parts": [list(p) for p in r.parts],
                "links": list(r.links),
            }
            for r in doc.records
        ],
    }


def dump_golden(doc: Document) -> str:
    """JSON with one record a line, so that a changed cell is a one-line diff."""
    data = document_to_json(doc)
    records = data.pop("records")
    head = json.dumps(data, ensure_ascii=False, indent=1)[:-2]
    lines = ",\n".join("  " + json.dumps(r, ensure_ascii=False) for r in records)
    return f'{head},\n "records": [\n{lines}\n ]\n}}\n'


def golden_path(name: str) -> Path:
    return GOLDEN / f"{Path(name).stem}.json"
