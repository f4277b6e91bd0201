"""A message renders with no transaction open: the claim is committed first, so another
writer is not held up while a big change set renders (20,000 changes held SQLite's write
lock for 90 s and other writers failed with 'database is locked': issue 16, item 6).

While the dispatcher renders, a second connection writes with a short lock timeout: the
notification's own row, which on PostgreSQL an open claim transaction would still lock; on
SQLite any write needs the database's one write lock.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, config, record, route, row, seed_documents
from tests.delivery.servers import SlackServer
from watcher.delivery import load
from watcher.delivery.outbox import dispatch

CFG = config(route("team", "slack", webhook_url_env="TEAM_URL"))


def write_now(engine: Engine, nid: int) -> str:
    """One write on a connection of its own, giving up after 200 ms: 'ok' or the error."""
    fairy = engine.raw_connection()
    try:
        cur = fairy.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("PRAGMA busy_timeout=200")
            cur.execute("BEGIN IMMEDIATE")
        else:
            cur.execute("SET lock_timeout = '200ms'")
        # An int from the database, formatted in: the two drivers' placeholders differ.
        cur.execute(f"UPDATE notifications SET last_error = last_error WHERE id = {int(nid)}")
        fairy.commit()
        return "ok"
    except Exception as exc:  # noqa: BLE001 - what the writer met is what the test reports
        fairy.rollback()
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        fairy.close()


def test_another_writer_writes_while_a_change_set_renders(
    engine: Engine,
    sessions: sessionmaker[Session],
    slack: SlackServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = [f"Azure Service {i}" for i in range(40)]
    [nid] = seed_documents(
        sessions,
        CFG,
        [record(n, "not_available") for n in names],
        [record(n, "available") for n in names],
    )
    writes: list[str] = []
    real_render = load.render_changes

    def render_while_another_writes(*args: Any, **kwargs: Any) -> Any:
        writes.append(write_now(engine, nid))
        return real_render(*args, **kwargs)

    monkeypatch.setattr(load, "render_changes", render_while_another_writes)
    report = dispatch(sessions, CFG, environ={"TEAM_URL": slack.webhook("ok")}, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    assert writes == ["ok"]
    assert row(sessions, nid).state == "sent"
    assert len(slack.received()) == 1
