"""Webhook URLs (Slack, Teams, signed webhooks), tokens, signing secrets and SMTP credentials
never reach logs, the database, errors or output.

Distinctive secret values go into the environment; every route fails in its own way (403,
connection refused, a malformed URL, invalid_auth, a wrong SMTP password) and one works;
then everything the run left behind is searched for them: DEBUG logs of every logger, the
command output on stdout and stderr, and every column of every table.
"""

from __future__ import annotations

import logging
import socket
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, SOURCE, config, pair, route, row, seed_small
from tests.delivery.servers import SlackServer, SmtpServer, TeamsServer, WebhookReceiver
from watcher.cli import cli
from watcher.delivery.channels.email import EmailChannel
from watcher.delivery.outbox import dispatch
from watcher.storage.models import Base

WEBHOOK_SECRET = "hooksecret-9f8e7d6c"
TOKEN = "xoxb-tokensecret-5a4b3c2d"
SMTP_USER = "smtpuser-4e5f6a7b"
SMTP_PASSWORD = "smtpsecret-1q2w3e4r"
# The ids of the echoing route's webhook path: a far end that repeats the path must not
# repeat them either.
ECHO_TEAM = "T5A6B7C8D"
ECHO_HOOK = "B5E6F7A8B"
# A Teams Workflows URL's signature, and a signed webhook's HMAC secret.
TEAMS_SIG = "teamssig-3c4d5e6f7a8b"
SIGNING_SECRET = "whsec_" + "c2lnbmluZy1zZWNyZXQtb2YtdGhlLXRlc3Q="


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def routes(slack: SlackServer, smtp_port: int) -> str:
    return textwrap.dedent(
        f"""
        [[routes]]
        name = "teams-echo"
        channel = "teams"
        webhook_url_env = "TEAMS_ECHO"

        [[routes]]
        name = "signed-ok"
        channel = "webhook"
        url_env = "SIGNED_URL"
        secret_env = "SIGNING_SECRET"

        [[routes]]
        name = "hook-403"
        channel = "slack"
        webhook_url_env = "HOOK_403"

        [[routes]]
        name = "hook-down"
        channel = "slack"
        webhook_url_env = "HOOK_DOWN"

        [[routes]]
        name = "hook-malformed"
        channel = "slack"
        webhook_url_env = "HOOK_MALFORMED"

        [[routes]]
        name = "hook-echo"
        channel = "slack"
        webhook_url_env = "HOOK_ECHO"

        [[routes]]
        name = "hook-ok"
        channel = "slack"
        webhook_url_env = "HOOK_OK"

        [[routes]]
        name = "api-invalid-auth"
        channel = "slack"
        token_env = "SLACK_TOKEN"
        channel_id = "C0123456789"
        api_url = "{slack.api("forbidden")}"

        [[routes]]
        name = "mail"
        channel = "email"
        smtp_host = "127.0.0.1"
        smtp_port = {smtp_port}
        smtp_security = "starttls"
        smtp_username_env = "SMTP_USER"
        smtp_password_env = "SMTP_PASSWORD"
        from = "watcher@example.com"
        to = ["team@example.com"]

        [[routes]]
        name = "ops"
        channel = "stdout"
        ops = true
        min_severity = "warning"
        """
    )


def test_secrets_never_leak(
    db_url: str,
    tmp_path: Path,
    slack: SlackServer,
    corpus: Path,
    certificate: tuple[Path, Path],
    sessions: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp = SmtpServer(tls=certificate, username=SMTP_USER, password="the-right-password").start()
    teams = TeamsServer(certificate)
    receiver = WebhookReceiver(certificate, SIGNING_SECRET, lambda *a: True)
    teams.start()
    receiver.start()
    try:
        config = tmp_path / "watcher.toml"
        config.write_text(
            f'[[sources]]\nname = "{SOURCE}"\nurl = "https://example.com/p.md"\n'
            + routes(slack, smtp.port),
            encoding="utf-8",
        )
        env = {
            "HOOK_403": slack.webhook("forbidden", f"T1/B1/{WEBHOOK_SECRET}"),
            "HOOK_DOWN": f"http://127.0.0.1:{closed_port()}/ok/services/T2/B2/{WEBHOOK_SECRET}",
            "HOOK_MALFORMED": f"hxxps://hooks.slack.invalid/services/T3/B3/{WEBHOOK_SECRET}",
            # Answers 404 "Cannot POST /echo/services/T5…/B5…/hooksecret-…": the URL's path.
            "HOOK_ECHO": slack.webhook("echo", f"{ECHO_TEAM}/{ECHO_HOOK}/{WEBHOOK_SECRET}"),
            "HOOK_OK": slack.webhook("ok", f"T4/B4/{WEBHOOK_SECRET}"),
            "SLACK_TOKEN": TOKEN,
            "SMTP_USER": SMTP_USER,
            "SMTP_PASSWORD": SMTP_PASSWORD,
            "SSL_CERT_FILE": str(certificate[0]),
            "TEAMS_ECHO": teams.url(f"echo/workflows/w1/triggers/manual/invoke?sig={TEAMS_SIG}"),
            "SIGNED_URL": receiver.url(f"hooks/{WEBHOOK_SECRET}"),
            "SIGNING_SECRET": SIGNING_SECRET,
        }
        caplog.set_level(logging.DEBUG)
        base = ["-v", "--db", db_url, "--config", str(config)]
        outputs = []
        for args, code in (
            (["config", "check"], 0),
            (["import", *map(str, pair(corpus)), "--source", SOURCE, "--notify"], 0),
            (["dispatch", "--linger", "0"], 1),
            (["notifications", "--format", "json"], 0),
            (["notifications"], 0),
            (["notify", "test", "hook-down"], 1),
            (["notify", "test", "mail"], 1),
            (["notify", "test", "api-invalid-auth"], 1),
            (["notify", "test", "hook-malformed"], 1),
        ):
            result = CliRunner().invoke(cli, base + args, env=env, catch_exceptions=False)
            assert result.exit_code == code, (args, result.output)
            outputs.append(result.stdout + result.stderr)
        output = "\n".join(outputs)
        # The runs really failed in the ways this test is about.
        assert "HTTP 403" in output and "Connection refused" in output
        assert "Cannot POST [redacted]" in output
        assert "invalid_auth" in output and "535" in output
        assert "SlackRequestError" in output
        assert len(slack.received("ok")) == 1
        assert [p.status for p in teams.posts] == [404]
        assert [p.status for p in receiver.posts] == [204]
        assert "HTTP Request: POST [redacted]" in caplog.text  # httpx spoke, scrubbed
        with sessions() as session:
            database = "\n".join(
                repr(tuple(r))
                for table in Base.metadata.sorted_tables
                if table.name != "records"
                for r in session.execute(select(table))
            )
        assert "hook-ok" in database and "dead" in database
        everything = {"output": output, "logs": caplog.text, "database": database}
        secrets = (WEBHOOK_SECRET, TOKEN, SMTP_PASSWORD, SMTP_USER, ECHO_TEAM, ECHO_HOOK)
        for secret in (*secrets, TEAMS_SIG, SIGNING_SECRET, SIGNING_SECRET[6:]):
            for where, text in everything.items():
                assert secret not in text, f"{secret} found in the {where}"
            for r in caplog.records:
                assert secret not in r.getMessage()
    finally:
        smtp.stop()
        teams.stop()
        receiver.stop()


def test_a_short_password_in_an_unforeseen_error_is_scrubbed(
    sessions: sessionmaker[Session],
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    short = "p4z"
    mail = route(
        "mail",
        "email",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        smtp_password_env="SHORT_PASSWORD",
        smtp_username_env="SHORT_USER",
        **{"from": "watcher@example.com"},
        to=["audit@example.com"],
    )
    cfg = config(mail)
    [notification_id] = seed_small(sessions, cfg)

    def unforeseen(self: object, message: object) -> object:
        # A fault no real server produces: a client bug that quotes its credentials.
        raise RuntimeError(f"login as someone:{short} went wrong")

    monkeypatch.setattr(EmailChannel, "send", unforeseen)
    caplog.set_level(logging.DEBUG)
    env = {"SHORT_PASSWORD": short, "SHORT_USER": "someone"}
    dispatch(sessions, cfg, environ=env, policy=replace(FAST, linger=0))
    error = row(sessions, notification_id).last_error
    assert error is not None and "RuntimeError" in error
    assert short not in error
    assert short not in caplog.text
