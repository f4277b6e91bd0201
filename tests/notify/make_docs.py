"""The example messages in docs/, made by the real pipeline from the real pages.

`watcher import --notify` stores the 2021-01-28 and 2021-11-09 pages, `watcher dispatch`
delivers the change set to a local Slack-like server and a local SMTP server, and what they
received is written to docs/: the Block Kit JSON Slack got, the HTML part of the email, and
(when Chromium is installed) a screenshot of that email.

Regenerate after changing the rendering:  .venv/bin/python -m tests.notify.make_docs
tests/notify/test_docs_examples.py fails while the files are out of date.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import CORPUS, ROOT
from tests.notify.conftest import PAGE_URL, SOURCE, pair
from tests.notify.servers import SlackServer, SmtpServer
from watcher.cli import cli

DOCS = ROOT / "docs"
STEM = "2021-01-28_to_2021-11-09"
SLACK_JSON = DOCS / f"slack-{STEM}.json"
EMAIL_HTML = DOCS / f"email-{STEM}.html"
EMAIL_PNG = DOCS / f"email-{STEM}.png"

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
name = "platform-team-mail"
channel = "email"
smtp_host = "127.0.0.1"
smtp_port = {port}
smtp_security = "none"
from = "watcher@example.com"
to = ["platform-team@example.com"]
"""


def render_examples(workdir: Path) -> tuple[str, str]:
    """(Slack JSON, email HTML) for the 2021-01-28 → 2021-11-09 change set."""
    slack, smtp = SlackServer().start(), SmtpServer().start()
    try:
        config = workdir / "watcher.toml"
        config.write_text(CONFIG.format(source=SOURCE, url=PAGE_URL, port=smtp.port))
        base = ["--config", str(config), "--db", f"sqlite:///{workdir / 'docs.db'}"]
        env = {"SLACK_WEBHOOK_URL": slack.webhook("ok")}
        for args in (
            ["import", *map(str, pair(CORPUS)), "--source", SOURCE, "--notify"],
            ["dispatch"],
        ):
            result = CliRunner().invoke(cli, base + args, env=env, catch_exceptions=False)
            if result.exit_code != 0:
                raise RuntimeError(f"watcher {args[0]} failed:\n{result.output}")
        payloads = [r.body for r in slack.received()]
        [mail] = smtp.mails
        html_part = mail.message.get_body(("html",))
        assert html_part is not None
        # As received over SMTP, with CRLF line ends; stored as a normal text file.
        html = str(html_part.get_content()).replace("\r\n", "\n")
    finally:
        slack.stop()
        smtp.stop()
    return json.dumps(payloads, indent=2, ensure_ascii=False) + "\n", html


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
    with tempfile.TemporaryDirectory() as tmp:
        slack_json, html = render_examples(Path(tmp))
    SLACK_JSON.write_text(slack_json, encoding="utf-8")
    EMAIL_HTML.write_text(html, encoding="utf-8")
    print(f"wrote {SLACK_JSON.relative_to(ROOT)} and {EMAIL_HTML.relative_to(ROOT)}")
    if screenshot(EMAIL_HTML, EMAIL_PNG):
        print(f"wrote {EMAIL_PNG.relative_to(ROOT)}")
    else:
        print("chromium is not installed: no screenshot", file=sys.stderr)


if __name__ == "__main__":
    main()
