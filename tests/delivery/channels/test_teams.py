"""Teams delivery against a real Teams-Workflows-like HTTPS server: 202 accepted, 413 over
28 KB, 429 with Retry-After, 4xx dead, parts confirmed one by one, the URL kept secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, config, record, route, row, seed, seed_documents
from tests.delivery.servers import TEAMS_MAX_BODY, TeamsServer
from watcher.delivery.outbox import dispatch
from watcher.delivery.render.teams import card_bytes

TEAMS = route("team", "teams", webhook_url_env="TEAMS_URL")
# How a Workflows URL looks (its shape changed twice; nothing here depends on it).
SECRET_PATH = "workflows/7f3c2a9e1b4d4e6f/triggers/manual/paths/invoke?sig=Zx9vQ2kLmN8pR4tY"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watcher.db'}"


@pytest.fixture
def teams(certificate: tuple[Path, Path]) -> Iterator[TeamsServer]:
    server = TeamsServer(certificate)
    server.start()
    yield server
    server.stop()


def env(
    teams: TeamsServer, certificate: tuple[Path, Path], behaviour: str = "go"
) -> dict[str, str]:
    return {
        "TEAMS_URL": teams.url(f"{behaviour}/{SECRET_PATH}"),
        "SSL_CERT_FILE": str(certificate[0]),
    }


def texts(element: object) -> list[str]:
    """Every TextBlock text in a card (or any part of one)."""
    if isinstance(element, dict):
        own = [element["text"]] if element.get("type") == "TextBlock" else []
        return own + [t for v in element.values() for t in texts(v)]
    if isinstance(element, list):
        return [t for v in element for t in texts(v)]
    return []


def test_the_change_set_arrives_as_adaptive_cards_1_5(
    sessions: sessionmaker[Session],
    teams: TeamsServer,
    certificate: tuple[Path, Path],
    corpus: Path,
) -> None:
    cfg = config(TEAMS)
    [nid] = seed(sessions, cfg, corpus)
    report = dispatch(sessions, cfg, environ=env(teams, certificate), policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    assert teams.posts and all(p.status == 202 for p in teams.posts)
    for p in teams.posts:
        assert len(p.body) <= TEAMS_MAX_BODY
        assert p.headers["Content-Type"].startswith("application/json")
        [attachment] = p.json["attachments"]
        assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert attachment["content"]["version"] == "1.5"
        [action] = attachment["content"]["actions"]
        assert action["type"] == "Action.OpenUrl" and action["url"].startswith("https://")
    cards = teams.cards()
    words = "\n".join(t for c in cards for t in texts(c))
    assert texts(cards[0])[0].startswith("azure-managed-identities: ")
    assert "▲ promoted" in words
    n = row(sessions, nid)
    assert n.state == "sent"
    total = len(cards)
    assert n.deliveries == {f"part {i} of {total}": "sent" for i in range(1, total + 1)}


def many_entities(count: int) -> tuple[list, list]:  # type: ignore[type-arg]
    names = [f"Microsoft.Service{i:03d}/resources " + "x" * 120 for i in range(count)]
    return (
        [record(n, "not_available", row=r) for n in names for r in ("System assigned", "User")],
        [record(n, "available", row=r) for n in names for r in ("System assigned", "User")],
    )


def test_a_long_change_set_is_split_and_each_part_is_confirmed_before_the_next(
    sessions: sessionmaker[Session], teams: TeamsServer, certificate: tuple[Path, Path]
) -> None:
    cfg = config(TEAMS)
    [nid] = seed_documents(sessions, cfg, *many_entities(80))
    # The second post fails once: the first part is confirmed, the rest waits.
    first = dispatch(sessions, cfg, environ=env(teams, certificate, "nth-2"), policy=FAST)
    assert [d.outcome for d in first.deliveries][-1] == "sent"
    posts = teams.posts
    statuses = [p.status for p in posts]
    assert statuses[:3] == [202, 500, 202]  # part 1, part 2 refused, part 2 again
    parts = [p.json for p in posts if p.status == 202]
    assert len(parts) >= 2, "80 entities take several parts"
    assert all(len(card_bytes(p)) <= TEAMS_MAX_BODY for p in parts)
    headers = [texts(p)[0] for p in parts]
    assert headers[0].endswith(f"(part 1 of {len(parts)})")
    assert headers == sorted(set(headers), key=headers.index), "no part was posted twice"
    everything = json.dumps(parts)
    assert all(f"Microsoft.Service{i:03d}" in everything for i in range(80))
    assert row(sessions, nid).state == "sent"


def test_429_waits_for_retry_after_and_is_sent_once(
    sessions: sessionmaker[Session], teams: TeamsServer, certificate: tuple[Path, Path]
) -> None:
    cfg = config(TEAMS)
    [nid] = seed_documents(sessions, cfg, *many_entities(2))
    start = datetime(2024, 3, 1, tzinfo=UTC)
    report = dispatch(
        sessions, cfg, environ=env(teams, certificate, "ratelimited-120"), policy=FAST,
        now=lambda: start,
    )  # fmt: skip
    assert [d.outcome for d in report.deliveries] == ["retry"]
    n = row(sessions, nid)
    assert n.next_attempt_at is not None
    assert n.next_attempt_at.replace(tzinfo=UTC) >= start + timedelta(seconds=119)
    later = dispatch(
        sessions, cfg, environ=env(teams, certificate, "ratelimited-120"), policy=FAST,
        now=lambda: start + timedelta(seconds=121),
    )  # fmt: skip
    assert [d.outcome for d in later.deliveries] == ["sent"]
    assert [p.status for p in teams.posts] == [429, 202]


@pytest.mark.parametrize(("behaviour", "status"), [("refuse", 400), ("echo", 404)])
def test_a_4xx_is_dead_and_the_url_is_in_no_error(
    sessions: sessionmaker[Session],
    teams: TeamsServer,
    certificate: tuple[Path, Path],
    behaviour: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = config(TEAMS)
    [nid] = seed_documents(sessions, cfg, *many_entities(1))
    report = dispatch(sessions, cfg, environ=env(teams, certificate, behaviour), policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["dead"]
    n = row(sessions, nid)
    assert n.state == "dead" and f"HTTP {status}" in (n.last_error or "")
    for text in (n.last_error or "", caplog.text):
        assert "Zx9vQ2kLmN8pR4tY" not in text and "7f3c2a9e1b4d4e6f" not in text
        assert "triggers/manual" not in text


def test_a_url_that_is_not_https_is_dead_without_a_request(
    sessions: sessionmaker[Session], teams: TeamsServer
) -> None:
    cfg = config(TEAMS)
    [nid] = seed_documents(sessions, cfg, *many_entities(1))
    url = f"http://127.0.0.1:{teams.port}/{SECRET_PATH}"
    report = dispatch(sessions, cfg, environ={"TEAMS_URL": url}, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["dead"]
    error = row(sessions, nid).last_error or ""
    assert "not an https:// URL" in error and "Zx9vQ2kLmN8pR4tY" not in error
    assert teams.posts == []


def test_the_server_refuses_over_28_kb_and_that_is_dead(
    sessions: sessionmaker[Session], teams: TeamsServer, certificate: tuple[Path, Path]
) -> None:
    from watcher.delivery.channels.teams import TeamsWorkflow

    huge = {"type": "message", "attachments": [{"content": {"text": "x" * TEAMS_MAX_BODY}}]}
    channel = TeamsWorkflow(
        env(teams, certificate)["TEAMS_URL"], timeout=5, cafile=str(certificate[0])
    )
    result = channel.post(huge)
    assert (result.outcome, teams.posts[-1].status) == ("dead", 413)


def test_page_text_is_no_card_markdown(
    sessions: sessionmaker[Session], teams: TeamsServer, certificate: tuple[Path, Path]
) -> None:
    hostile = "**bold** _it_ [link](http://x) <!channel> {{DATE(2021-01-01T00:00:00Z)}} \u202eexe"
    names = (f"Azure {hostile}", "Azure " + "N" * 10_000)
    cfg = config(TEAMS)
    seed_documents(
        sessions,
        cfg,
        [record(n, "not_available", section=f"- {hostile}") for n in names],
        [record(n, "mixed", raw=f"1. {hostile}", section=f"- {hostile}") for n in names],
    )
    report = dispatch(sessions, cfg, environ=env(teams, certificate), policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    words = [t for c in teams.cards() for t in texts(c)]
    joined = "\n".join(words)
    assert "**bold**" not in joined and "_it_" not in joined and "](" not in joined
    assert "{{" not in joined and "\u202e" not in joined and "N" * 1000 not in joined
    assert "∗∗bold∗∗" in joined and "\ufffdexe" in joined
    assert not any(w.startswith(("- ", "1. ")) for w in words)


def test_a_200_counts_as_accepted_like_a_202(
    sessions: sessionmaker[Session], teams: TeamsServer, certificate: tuple[Path, Path]
) -> None:
    cfg = config(TEAMS)
    [nid] = seed_documents(sessions, cfg, *many_entities(1))
    report = dispatch(sessions, cfg, environ=env(teams, certificate, "ok"), policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    assert [p.status for p in teams.posts] == [200] and row(sessions, nid).state == "sent"
