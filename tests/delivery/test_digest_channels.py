"""A digest reaches every channel as one message, against the real local servers: Slack (Block
Kit), Teams (an Adaptive Card, 202), email (multipart, the digest's HTML), a signed webhook
(``type: "digest"``, verified with the README's recipe), apprise (``json://``) and stdout;
each says which cell changed and changed back, and a digest route is held while the others
hear each change set at once."""

from __future__ import annotations

import io
from pathlib import Path

import time_machine
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.channels.test_webhook import WHSEC, readme_verify
from tests.delivery.conftest import FAST, config, route, row
from tests.delivery.digests import NEXT_MORNING, seed_three
from tests.delivery.servers import SlackServer, SmtpServer, TeamsServer, WebhookReceiver
from watcher.delivery.outbox import dispatch

DAILY = "daily 09:00 Europe/Berlin"
BACK = "changed and changed back"


def test_a_digest_reaches_every_channel_once(
    sessions: sessionmaker[Session],
    tmp_path: Path,
    slack: SlackServer,
    smtp: SmtpServer,
    certificate: tuple[Path, Path],
) -> None:
    routes = [
        route("d-slack", "slack", webhook_url_env="SLACK_URL", digest=DAILY),
        route("d-teams", "teams", webhook_url_env="TEAMS_URL", digest=DAILY),
        route("d-hook", "webhook", url_env="HOOK_URL", secret_env="HOOK_SECRET", digest=DAILY),
        route("d-apprise", "apprise", url_env="APPRISE_URL", digest=DAILY),
        route(
            "d-mail",
            "email",
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_security="none",
            to=["team@example.com"],
            digest=DAILY,
            **{"from": "watcher@example.com"},
        ),
        route("d-stdout", "stdout", digest=DAILY),
    ]
    cfg = config(*routes)
    ids = seed_three(sessions, cfg, tmp_path)
    assert len(ids) == 2 * len(routes)
    teams = TeamsServer(certificate)
    hook = WebhookReceiver(certificate, WHSEC, readme_verify())
    teams.start()
    hook.start()
    env = {
        "SLACK_URL": slack.webhook("ok"),
        "TEAMS_URL": teams.url("workflows/t0k3n/invoke"),
        "HOOK_URL": hook.url("ok/hooks/t0k3n"),
        "HOOK_SECRET": WHSEC,
        "APPRISE_URL": f"json://127.0.0.1:{slack.port}/apprise/t0k3n",
        "SSL_CERT_FILE": str(certificate[0]),
    }
    out = io.StringIO()
    try:
        with time_machine.travel(NEXT_MORNING.replace(second=3), tick=True):
            report = dispatch(sessions, cfg, environ=env, policy=FAST, stdout=out)
    finally:
        teams.stop()
        hook.stop()
    assert sorted((d.route, d.kind, d.outcome) for d in report.deliveries) == sorted(
        (r.name, "digest", "sent") for r in routes
    )
    assert {row(sessions, i).state for i in ids} == {"sent"}

    [posted] = slack.received("ok")
    assert posted.body["blocks"][0]["text"]["text"].startswith("d-slack digest: 2 changes")
    assert BACK in str(posted.body["blocks"])
    [card] = teams.cards()
    assert card["version"] == "1.5" and BACK in str(card["body"])
    [post] = hook.posts
    assert hook.verified == [True] and post.status == 204
    body = post.json
    assert (body["schema"], body["version"], body["type"]) == ("watcher.notification", 1, "digest")
    assert body["id"] == post.headers["webhook-id"] and body["schedule"] == DAILY
    [source] = body["sources"]
    assert len(source["change_sets"]) == 2
    folded = {f["entity"]: f for f in source["folded"]}
    back = folded["Microsoft.Sql/servers/databases"]
    assert back["folded"] == "back" and len(back["changes"]) == 2
    assert all(isinstance(i, int) for i in back["changes"])
    [apprised] = slack.received("apprise")
    assert BACK in apprised.body["message"] and apprised.body["title"].startswith(
        "[watcher] d-apprise digest: "
    )
    [mail] = smtp.mails
    message = mail.message
    assert message["Subject"].startswith("[watcher] d-mail digest: 2 changes")
    html = message.get_body(("html",))
    assert html is not None and BACK in html.get_content()
    assert out.getvalue().count("Sent by watcher for route d-stdout: its digest.") == 1
