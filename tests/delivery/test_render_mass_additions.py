"""A page adding 5,000 services, once confirmed, reaches Slack as a few messages that say
what is left out and how to list it, never as a hundred parts (a real local Slack server)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, SOURCE, config, route
from tests.delivery.servers import SlackServer
from tests.ingest.test_holds_hostile import S_2025, arc_k8s_user_assigned, with_services
from watcher.delivery.outbox import dispatch
from watcher.delivery.render.compose import MAX_PARTS
from watcher.ingest.importer import ImportItem, import_pages

TEAM = route("team", "slack", webhook_url_env="TEAM_URL", min_severity="info")


def test_a_confirmed_mass_addition_is_a_few_slack_messages(
    sessions: sessionmaker[Session], slack: SlackServer, tmp_path: Path
) -> None:
    cfg = config(TEAM)
    flood = with_services(S_2025, 5000)
    items = [
        ImportItem(Path("2025.md"), S_2025),
        ImportItem(Path("flood.md"), flood),
        # A later version still lists them: the addition is real, and reported at flood.md.
        ImportItem(Path("later.md"), arc_k8s_user_assigned(flood)),
    ]
    outcomes = import_pages(sessions, SOURCE, items, routes=cfg.routes, notify=True)
    assert [o.result for o in outcomes] == ["baseline", "quarantined", "changed"]
    dispatch(sessions, cfg, environ={"TEAM_URL": slack.webhook("ok")}, policy=FAST)
    posts = slack.received()
    # The 5,000 additions, summarized (the later edit is a value change routes stay quiet on).
    assert 1 <= len(posts) <= MAX_PARTS
    text = str([p.body for p in posts])
    assert "Too long for one message: 5000 entity_added" in text
    assert f"All of them: watcher changes --source {SOURCE} --since " in text
