"""What a digest says when the page is hostile or huge (real local Slack, SMTP and Teams-like
servers): page text folded into a digest's notes ("via Mixed (Linux <!channel> …)") reaches
no channel as markup, and a digest gathering a mass addition is a few Slack messages that
say what they leave out."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, PAGE_URL, SOURCE, config, route
from tests.delivery.digests import NEXT_MORNING
from tests.delivery.servers import TEAMS_MAX_BODY, SlackServer, SmtpServer, TeamsServer
from tests.delivery.test_render_neutral import BIDI, HOSTILE, hostile_pages, page_text_slack
from tests.ingest.test_holds_hostile import S_2025, arc_k8s_user_assigned, with_services
from watcher.config import Config
from watcher.delivery.outbox import dispatch
from watcher.delivery.render.compose import MAX_PARTS
from watcher.domain.document import Document, Record
from watcher.ingest.importer import ImportItem, import_pages
from watcher.ingest.pipeline import Page, ingest
from watcher.storage import store

DAILY = "daily 09:00 Europe/Berlin"
EVENING = datetime(2026, 1, 12, 18, 0, tzinfo=UTC)


def store_versions(
    sessions: sessionmaker[Session], cfg: Config, versions: Sequence[Sequence[Record]]
) -> None:
    """Synthetic documents as successive snapshots, queued the evening before the digest."""
    for i, records in enumerate(versions):
        moment = EVENING + timedelta(minutes=i)
        with time_machine.travel(moment, tick=False), sessions.begin() as session:
            source = store.get_or_create_source(session, SOURCE, PAGE_URL, "markdown")
            page = Page(
                body=f"version {i}".encode(),
                taken_at=datetime(2024, 1, 1 + i, tzinfo=UTC),
                origin="import",
            )
            doc = Document(records=tuple(records), title="Synthetic page", tables=1)
            ingest(session, source, page, document=doc, routes=cfg.routes)


def test_page_text_folded_into_a_digest_reaches_no_channel_as_markup(
    sessions: sessionmaker[Session], slack: SlackServer, smtp: SmtpServer,
    certificate: tuple[Path, Path],
) -> None:  # fmt: skip
    cfg = config(
        route("chat", "slack", webhook_url_env="CHAT_URL", digest=DAILY),
        route("card", "teams", webhook_url_env="CARD_URL", digest=DAILY),
        route(
            "mail", "email", smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
            to=["team@example.com"], digest=DAILY, **{"from": "w@example.com"},
        ),
        route("log", "stdout", digest=DAILY),
    )  # fmt: skip
    old, mixed = hostile_pages()
    # Not available → Mixed (hostile text) → Not available: changed back, via the hostile text.
    store_versions(sessions, cfg, [old, mixed, old])
    teams = TeamsServer(certificate)
    teams.start()
    env = {
        "CHAT_URL": slack.webhook("ok"),
        "CARD_URL": teams.url("workflows/x/invoke"),
        "SSL_CERT_FILE": str(certificate[0]),
    }
    out = io.StringIO()
    try:
        with time_machine.travel(NEXT_MORNING, tick=True):
            report = dispatch(sessions, cfg, environ=env, policy=FAST, stdout=out)
    finally:
        teams.stop()
    assert sorted(d.outcome for d in report.deliveries) == ["sent"] * 4
    posts = [p.body for p in slack.received()]
    everything = "\n".join(t for b in posts for t in page_text_slack(b))
    assert "changed and changed back, via Mixed (Linux ∗bold∗" in everything
    for body in posts:
        assert not set(BIDI) & set(json.dumps(body, ensure_ascii=False))
        for text in page_text_slack(body):
            assert "*bold*" not in text and "<!channel>" not in text and "`code`" not in text
    cards = teams.cards()
    assert cards and all(len(p.body) <= TEAMS_MAX_BODY for p in teams.accepted())
    card_text = json.dumps(cards, ensure_ascii=False)
    assert "changed and changed back" in card_text and "[link](" not in card_text
    assert "**bold**" not in card_text and not set(BIDI) & set(card_text)
    [mail] = smtp.mails
    html = mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<!channel>" not in html and "&lt;!channel&gt;" in html
    assert "changed and changed back" in html
    assert HOSTILE not in out.getvalue() and "\ufffdgpj.exe" in out.getvalue()


def test_a_digest_gathering_a_mass_addition_is_a_few_slack_messages(
    sessions: sessionmaker[Session], slack: SlackServer
) -> None:
    cfg = config(
        route("team", "slack", webhook_url_env="TEAM_URL", min_severity="info", digest=DAILY)
    )
    flood = with_services(S_2025, 5000)
    items = [
        ImportItem(Path("2025.md"), S_2025),
        ImportItem(Path("flood.md"), flood),
        ImportItem(Path("later.md"), arc_k8s_user_assigned(flood)),
    ]
    with time_machine.travel(EVENING, tick=False):
        import_pages(sessions, SOURCE, items, routes=cfg.routes, notify=True)
    with time_machine.travel(NEXT_MORNING, tick=True):
        report = dispatch(sessions, cfg, environ={"TEAM_URL": slack.webhook("ok")}, policy=FAST)
    assert [(d.kind, d.outcome) for d in report.deliveries] == [("digest", "sent")]
    posts = slack.received()
    assert 1 <= len(posts) <= MAX_PARTS
    text = str([p.body for p in posts])
    assert "Too long for one message: 5000 entity_added" in text
    assert f"All of them: watcher changes --source {SOURCE} --since " in text
