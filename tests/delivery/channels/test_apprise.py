"""The apprise channel against a real local endpoint apprise posts to (``json://``): the
change set arrives as the plain text stdout prints, under a short title; apprise's no is a
retry; the URL never reaches the outbox, the log or an error; without the extra, the row
waits for it rather than dying."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, config, route, row, seed
from tests.delivery.servers import SlackServer
from watcher.delivery.outbox import dispatch

ALERTS = route("alerts", "apprise", url_env="APPRISE_URL")
PRINTED = route("printed", "stdout")
# A token in the URL's path, as a Discord or ntfy URL carries one.
TOKEN = "Tk7f3c2a9e1b4d4e6fZx9vQ2"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watcher.db'}"


def url(server: SlackServer, behaviour: str) -> str:
    return f"json://127.0.0.1:{server.port}/{behaviour}/{TOKEN}"


def test_the_change_set_arrives_as_the_plain_text_stdout_prints(
    sessions: sessionmaker[Session], slack: SlackServer, corpus: Path
) -> None:
    cfg = config(ALERTS, PRINTED)
    ids = seed(sessions, cfg, corpus)
    out = io.StringIO()
    env = {"APPRISE_URL": url(slack, "ok")}
    report = dispatch(sessions, cfg, environ=env, policy=FAST, stdout=out)
    assert sorted(d.outcome for d in report.deliveries) == ["sent", "sent"]
    [got] = slack.received()
    assert got.path == f"/ok/{TOKEN}"
    printed = out.getvalue().replace("route printed", "route alerts")
    assert got.body["message"].rstrip("\n") == printed.rstrip("\n")
    title = got.body["title"]
    assert title == "[watcher] azure-managed-identities: 25 changes (21 promotions, 4 added)"
    assert "\n" not in title
    assert {row(sessions, i).state for i in ids} == {"sent"}


def test_apprise_saying_no_is_retried_and_the_url_stays_secret(
    sessions: sessionmaker[Session],
    slack: SlackServer,
    corpus: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = config(ALERTS)
    caplog.set_level(logging.DEBUG)
    [nid] = seed(sessions, cfg, corpus)
    first = dispatch(sessions, cfg, environ={"APPRISE_URL": url(slack, "error")}, policy=FAST)
    assert {d.outcome for d in first.deliveries} <= {"retry", "dead"}
    n = row(sessions, nid)
    assert n.state != "sent" and n.attempts >= 1
    assert "apprise (JSON) did not deliver it" in (n.last_error or "")
    for text in (n.last_error or "", caplog.text, repr(n.payload)):
        assert TOKEN not in text
    # The endpoint answers again: the same row goes, once.
    env = {"APPRISE_URL": url(slack, "flaky-1")}
    slack.requests.clear()
    with_retry = dispatch(sessions, cfg, environ=env, policy=FAST)
    if n.state == "dead":  # FAST's five attempts ran out on the first run: nothing more
        assert not with_retry.deliveries
    else:
        assert row(sessions, nid).state == "sent"
        assert len(slack.received("flaky")) == 2


def test_an_unknown_apprise_url_is_dead_and_not_quoted(
    sessions: sessionmaker[Session], corpus: Path
) -> None:
    cfg = config(ALERTS)
    [nid] = seed(sessions, cfg, corpus)
    dispatch(sessions, cfg, environ={"APPRISE_URL": f"nosuch://{TOKEN}"}, policy=FAST)
    n = row(sessions, nid)
    assert n.state == "dead"
    assert n.last_error == "apprise does not recognise the URL in url_env"


def test_without_the_extra_the_row_waits_for_it(
    sessions: sessionmaker[Session],
    slack: SlackServer,
    corpus: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = config(ALERTS)
    [nid] = seed(sessions, cfg, corpus)
    with monkeypatch.context() as hidden:
        # How Python sees a package that is not installed: find_spec None, import fails.
        hidden.setitem(sys.modules, "apprise", None)
        dispatch(sessions, cfg, environ={"APPRISE_URL": url(slack, "ok")}, policy=FAST)
    n = row(sessions, nid)
    assert n.state != "sent" and not slack.received()
    assert "pip install 'azure-mi-watcher[apprise]'" in (n.last_error or "")
