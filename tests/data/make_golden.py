"""Regenerate tests/data/golden/*.json from the corpus with the current parser.

Run it only after reading the new output by eye (``git diff tests/data/golden``): the
golden files are the reviewed record of what each real page version says.

    .venv/bin/python tests/data/make_golden.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.parse import CORPUS_FILES, GOLDEN, corpus_file, dump_golden, golden_path
from watcher.parse import parse


def main() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for name in CORPUS_FILES:
        doc = parse(corpus_file(name).read_bytes(), "markdown")
        golden_path(name).write_text(dump_golden(doc), encoding="utf-8")
        print(f"{golden_path(name).name}: {len(doc.records)} records, {doc.status_counts()}")


if __name__ == "__main__":
    main()
