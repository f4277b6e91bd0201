"""The example Slack message, Teams cards and email in docs/ are what the pipeline sends today."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.delivery.cardhtml import card_html
from tests.delivery.make_docs import EXAMPLES, Example, render_examples

REGENERATE = "out of date: regenerate with `.venv/bin/python -m tests.delivery.make_docs`"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.stem)
def test_docs_examples_are_current(tmp_path: Path, example: Example) -> None:
    slack_json, html, teams_json = render_examples(tmp_path, example)
    slack, email = example.slack_json, example.email_html
    assert slack.is_file() and email.is_file(), REGENERATE
    assert json.loads(slack.read_text(encoding="utf-8")) == json.loads(slack_json), (
        f"{slack.name} {REGENERATE}"
    )
    assert email.read_text(encoding="utf-8") == html, f"{email.name} {REGENERATE}"
    teams = example.teams_json
    assert teams.is_file(), REGENERATE
    assert json.loads(teams.read_text(encoding="utf-8")) == json.loads(teams_json), (
        f"{teams.name} {REGENERATE}"
    )
    rendered = example.teams_html.read_text(encoding="utf-8")
    assert rendered == card_html(json.loads(teams_json)), f"{example.teams_html.name} {REGENERATE}"
