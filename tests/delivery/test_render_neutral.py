"""Page text reaches no channel as markup: Slack formatting, mentions and links, HTML, and
bidirectional-text controls, through the real pipeline to a real Slack-like server, a real
SMTP server and the stdout channel (issue 16, item 10)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, config, record, route, seed_documents
from tests.delivery.servers import SlackServer, SmtpServer
from watcher.delivery.outbox import dispatch

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "gpj.exe" shows as "exe.jpg"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
HOSTILE = (
    f"*bold* _it_ ~gone~ `code` <!channel> <https://evil.example|click> [link](http://x) "
    f"{RLO}gpj.exe"
)
LONG = "Azure " + "N" * 10_000


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watcher.db'}"


def hostile_pages() -> tuple[list, list]:  # type: ignore[type-arg]
    names = (f"Service {HOSTILE}", LONG, "Azure Maps")
    section = f"Services {BIDI} *starred*"
    old = [record(n, "not_available", section=section) for n in names]
    new = [record(n, "mixed", raw=f"Linux {HOSTILE}", section=section) for n in names]
    return old, new


def page_text_slack(body: dict) -> list[str]:  # type: ignore[type-arg]
    out = [body["text"]]
    for block in body["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(e["text"] for e in block.get("elements", ()))
    return out


def test_page_text_reaches_slack_email_and_stdout_as_text(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    slack, smtp = SlackServer().start(), SmtpServer().start()
    try:
        cfg = config(
            route("chat", "slack", webhook_url_env="CHAT_URL"),
            route(
                "mail", "email", smtp_host="127.0.0.1", smtp_port=smtp.port,
                smtp_security="none", to=["team@example.com"], **{"from": "w@example.com"},
            ),
            route("log", "stdout"),
        )  # fmt: skip
        seed_documents(sessions, cfg, *hostile_pages())
        out = io.StringIO()
        report = dispatch(
            sessions, cfg, environ={"CHAT_URL": slack.webhook("ok")}, policy=FAST, stdout=out
        )
        assert sorted(d.outcome for d in report.deliveries) == ["sent"] * 3
        posts = [p.body for p in slack.received()]
        mails = list(smtp.mails)
    finally:
        slack.stop()
        smtp.stop()
    assert posts and len(mails) == 1
    for body in posts:
        raw = json.dumps(body, ensure_ascii=False)
        assert not set(BIDI) & set(raw), "a bidi control reached Slack"
        for text in page_text_slack(body):
            # Page text keeps its characters' look, never Slack's formatting or links.
            assert "*bold*" not in text and "_it_" not in text and "~gone~" not in text
            assert "`code`" not in text and "<!channel>" not in text
            assert not re.search(r"<https://evil", text)
            assert len(text) <= 3000
        for block in body["blocks"]:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
    everything = "\n".join(t for b in posts for t in page_text_slack(b))
    assert "∗bold∗" in everything and "ˍitˍ" in everything and "&lt;!channel&gt;" in everything
    assert "\ufffdgpj.exe" in everything  # the override shows where it was, it does not act
    mail = mails[0].message
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for part in (html, text, str(mail["Subject"]), out.getvalue()):
        assert not set(BIDI) & set(part), "a bidi control reached email or stdout"
        assert "N" * 1000 not in part  # the 10,000-character name is cut
    assert "<!channel>" not in html and "&lt;!channel&gt;" in html
    assert "\ufffdgpj.exe" in text and "\ufffdgpj.exe" in out.getvalue()


def test_the_neutralizers() -> None:
    from watcher.delivery.render.neutral import card_markdown, mrkdwn

    assert mrkdwn("*b* _i_ ~s~ `c` <!here> & x") == "∗b∗ ˍiˍ ∼s∼ ˋcˋ &lt;!here&gt; &amp; x"
    assert mrkdwn("&&&&", 10) == "&amp;…"
    # An underscore inside a word formats nothing: identifiers copy as they are.
    assert mrkdwn("format_changed _x_ a_ _b") == "format_changed ˍxˍ aˍ ˍb"
    assert card_markdown("azure_mi __b__") == "azure_mi ˍˍbˍˍ"
    card = card_markdown("**b** _i_ [t](http://x) {{DATE(2021-01-01T00:00:00Z)}}")
    assert "**" not in card and "_i_" not in card and "](" not in card and "{{" not in card
    for leading in ("- item", "+ item", "1. item", "# title", "> quote"):
        assert card_markdown(leading)[0] not in "-+1#>"
