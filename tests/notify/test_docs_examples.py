"""The example Slack message and email in docs/ are what the pipeline sends today."""

from __future__ import annotations

import json
from pathlib import Path

from tests.notify.make_docs import EMAIL_HTML, SLACK_JSON, render_examples

REGENERATE = "out of date: regenerate with `.venv/bin/python -m tests.notify.make_docs`"


def test_docs_examples_are_current(tmp_path: Path) -> None:
    slack_json, html = render_examples(tmp_path)
    assert SLACK_JSON.is_file() and EMAIL_HTML.is_file(), REGENERATE
    assert json.loads(SLACK_JSON.read_text(encoding="utf-8")) == json.loads(slack_json), (
        f"{SLACK_JSON.name} {REGENERATE}"
    )
    assert EMAIL_HTML.read_text(encoding="utf-8") == html, f"{EMAIL_HTML.name} {REGENERATE}"
