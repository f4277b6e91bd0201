"""`watcher notifications retry`: a dead notification is sent again once its route is fixed;
`--dead` takes every dead one; what is not dead is refused."""

from __future__ import annotations

from pathlib import Path

from tests.cliutil import run, run_json
from tests.delivery.servers import SlackServer
from tests.delivery.test_outbox import SLACK_ROUTE, import_pair, invoke, write_config


def test_retry_sends_a_dead_notification_again_once_the_webhook_is_fixed(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    broken = {"TEAM_SLACK_URL": slack.webhook("forbidden")}
    invoke("--db", db_url, "--config", config, "dispatch", env=broken, code=1)
    [dead] = run_json("notifications", "--state", "dead", db=db_url, config=config)
    # The operator fixes the webhook (here: the environment points at a working one).
    fixed = {"TEAM_SLACK_URL": slack.webhook("ok")}
    out = invoke("--db", db_url, "--config", config, "notifications", "retry", str(dead["id"]),
                 env=fixed)  # fmt: skip
    assert out.splitlines() == [
        f"1 dead notification(s) pending again: {dead['id']}",
        f"notification {dead['id']} (changes) on route team: sent",
        "1 sent, 0 dead, 0 still failing",
    ]
    [sent] = run_json("notifications", "--state", "sent", db=db_url, config=config)
    assert sent["id"] == dead["id"] and sent["attempts"] == 1
    assert [r.behaviour for r in slack.received()] == ["forbidden", "ok"]


def test_retry_dead_sends_every_dead_one_and_exits_1_if_still_broken(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    broken = {"TEAM_SLACK_URL": slack.webhook("forbidden")}
    invoke("--db", db_url, "--config", config, "dispatch", env=broken, code=1)
    out = invoke("--db", db_url, "--config", config, "notifications", "retry", "--dead",
                 env=broken, code=1)  # fmt: skip
    assert "1 dead notification(s) pending again: 1" in out
    assert "notification 1 (changes) on route team: DEAD after 1 attempt(s): HTTP 403" in out
    # Nothing dead is left over: a second --dead after a fix sends it.
    fixed = {"TEAM_SLACK_URL": slack.webhook("ok")}
    invoke("--db", db_url, "--config", config, "notifications", "retry", "--dead", env=fixed)
    assert run_json("notifications", "--state", "dead", db=db_url, config=config) == []
    assert run("notifications", "retry", "--dead", db=db_url, config=config).stdout == (
        "no dead notifications\n"
    )


def test_retry_refuses_what_is_not_dead(
    db_url: str, tmp_path: Path, slack: SlackServer, corpus: Path
) -> None:
    config = write_config(tmp_path, SLACK_ROUTE)
    import_pair(db_url, config, corpus)
    result = run("notifications", "retry", "1", db=db_url, config=config, code=2)
    assert result.stderr == (
        "watcher: notification 1 is pending, not dead: only dead ones are retried\n"
    )
    result = run("notifications", "retry", "99", db=db_url, config=config, code=2)
    assert result.stderr == "watcher: no notification 99\n"
    result = run("notifications", "retry", db=db_url, config=config, code=2)
    assert result.stderr == (
        "watcher: give the ids of dead notifications, or --dead for all of them\n"
    )
    [pending] = run_json("notifications", db=db_url, config=config)
    assert pending["state"] == "pending" and pending["attempts"] == 0
