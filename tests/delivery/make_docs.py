"""The example messages in docs/, made by the real pipeline from the real pages.

`watcher import --notify` stores two versions of the page, `watcher dispatch` delivers the
change set to a local Slack-like server, a local SMTP server and a local Teams-Workflows-like
HTTPS server, and what they received is written to docs/: the Block Kit JSON Slack got, the
HTML part of the email, the Adaptive Card messages Teams got with an approximate HTML
rendering of them (tests.delivery.cardhtml, not Microsoft's renderer), and (when Chromium
is installed) screenshots of the email and of that rendering. Two examples: the matrix era's
2021-01-28 → 2021-11-09 change set, and a capability change of today's page (the real
2025-05-09 page and a later copy edited by hand: tests.conftest.CAPABILITY_EDITS); and the
routes' daily digest of that change and of a third version where a cell changed back
(tests.delivery.digests.flip_back), imported and dispatched with time-machine's clock.

Regenerate after changing the rendering:  .venv/bin/python -m tests.delivery.make_docs
tests/delivery/test_render_docs.py fails while the files are out of date.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import time_machine
from click.testing import CliRunner

from tests.conftest import CORPUS, PAGE_2025, ROOT, later_2025
from tests.delivery.cardhtml import card_html
from tests.delivery.conftest import PAGE_URL, SOURCE, pair
from tests.delivery.digests import MONDAY, NEXT_MORNING, flip_back
from tests.delivery.servers import SlackServer, SmtpServer, TeamsServer, make_certificate
from watcher.cli import cli

DOCS = ROOT / "docs"


class Example:
    """One example change set: its pages and the files it is written to."""

    def __init__(
        self, stem: str, pages: Callable[[Path], list[Path]], digest: str | None = None
    ) -> None:
        self.stem, self.pages, self.digest = stem, pages, digest
        self.slack_json = DOCS / f"slack-{stem}.json"
        self.email_html = DOCS / f"email-{stem}.html"
        self.email_png = DOCS / f"email-{stem}.png"
        self.teams_json = DOCS / f"teams-{stem}.json"
        self.teams_html = DOCS / f"teams-{stem}.html"  # tests.delivery.cardhtml's rendering
        self.teams_png = DOCS / f"teams-{stem}.png"


EXAMPLES = (
    Example("2021-01-28_to_2021-11-09", lambda _: pair(CORPUS)),
    Example("status-page_capability_change", lambda tmp: [PAGE_2025, later_2025(tmp)]),
    # The routes' daily digest of two change sets of today's page: the capability change,
    # then a version where one of its cells changed back and another moved on.
    Example(
        "digest-status-page",
        lambda tmp: [PAGE_2025, later_2025(tmp), flip_back(tmp)],
        digest="daily 09:00 Europe/Berlin",
    ),
)

CONFIG = """\
[[sources]]
name = "{source}"
url = "{url}"
format = "markdown"

[[routes]]
name = "platform-team"
channel = "slack"
webhook_url_env = "SLACK_WEBHOOK_URL"

[[routes]]
name = "platform-team-teams"
channel = "teams"
webhook_url_env = "TEAMS_WEBHOOK_URL"

[[routes]]
name = "platform-team-mail"
channel = "email"
smtp_host = "127.0.0.1"
smtp_port = {port}
smtp_security = "none"
from = "watcher@example.com"
to = ["platform-team@example.com"]
"""


def render_examples(workdir: Path, example: Example = EXAMPLES[0]) -> tuple[str, str, str]:
    """(Slack JSON, email HTML, Teams JSON) for the example's change set."""
    certificate = make_certificate(workdir)
    slack, smtp, teams = SlackServer().start(), SmtpServer().start(), TeamsServer(certificate)
    teams.start()
    try:
        config = workdir / "watcher.toml"
        text = CONFIG.format(source=SOURCE, url=PAGE_URL, port=smtp.port)
        if example.digest:
            text = re.sub(
                r'(?m)^(name = "platform-team.*")$', rf'\1\ndigest = "{example.digest}"', text
            )
        config.write_text(text)
        base = ["--config", str(config), "--db", f"sqlite:///{workdir / 'docs.db'}"]
        env = {
            "SLACK_WEBHOOK_URL": slack.webhook("ok"),
            "TEAMS_WEBHOOK_URL": teams.url("workflows/docs/triggers/manual/paths/invoke"),
            "SSL_CERT_FILE": str(certificate[0]),
        }
        for args, moment in (
            (["import", *map(str, example.pages(workdir)), "--source", SOURCE, "--notify"], MONDAY),
            # A digest is sent at its time: the next morning's 09:00 Berlin.
            (["dispatch"], NEXT_MORNING),
        ):
            # The clock of a change set's own example does not show in its messages.
            clock = time_machine.travel(moment, tick=True) if example.digest else nullcontext()
            with clock:
                result = CliRunner().invoke(cli, base + args, env=env, catch_exceptions=False)
            if result.exit_code != 0:
                raise RuntimeError(f"watcher {args[0]} failed:\n{result.output}")
        payloads = [r.body for r in slack.received()]
        cards = [p.json for p in teams.accepted()]
        [mail] = smtp.mails
        html_part = mail.message.get_body(("html",))
        assert html_part is not None
        # As received over SMTP, with CRLF line ends; stored as a normal text file.
        html = str(html_part.get_content()).replace("\r\n", "\n")
    finally:
        slack.stop()
        smtp.stop()
        teams.stop()
    return _json(payloads), html, _json(cards)


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def screenshot(html: Path, png: Path) -> bool:
    """Render the email in headless Chromium; False when Chromium is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return False
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                f"--user-data-dir={profile}", f"--screenshot={png}",
                "--window-size=1000,2000", html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip
    return True


def main() -> None:
    DOCS.mkdir(exist_ok=True)
    for example in EXAMPLES:
        with tempfile.TemporaryDirectory() as tmp:
            slack_json, html, teams_json = render_examples(Path(tmp), example)
        example.slack_json.write_text(slack_json, encoding="utf-8")
        example.email_html.write_text(html, encoding="utf-8")
        example.teams_json.write_text(teams_json, encoding="utf-8")
        example.teams_html.write_text(card_html(json.loads(teams_json)), encoding="utf-8")
        written = (example.slack_json, example.email_html, example.teams_json, example.teams_html)
        for path in written:
            print(f"wrote {path.relative_to(ROOT)}")
        for page, png in (
            (example.email_html, example.email_png),
            (example.teams_html, example.teams_png),
        ):
            if screenshot(page, png):
                print(f"wrote {png.relative_to(ROOT)}")
            else:
                print("chromium is not installed: no screenshot", file=sys.stderr)


if __name__ == "__main__":
    main()
