"""`watcher notify test ROUTE` and `watcher config check` for the Teams, signed-webhook and
apprise channels, through the real command line, a real Teams-like server and a real receiver."""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.delivery.channels.test_webhook import readme_verify
from tests.delivery.servers import SlackServer, TeamsServer, WebhookReceiver, make_certificate
from watcher.cli import cli

ROUTES = """\
[[routes]]
name = "identity-team"
channel = "teams"
webhook_url_env = "TEAMS_WEBHOOK_URL"

[[routes]]
name = "platform-tooling"
channel = "webhook"
url_env = "TOOLING_WEBHOOK_URL"
secret_env = "TOOLING_WEBHOOK_SECRET"
"""
SECRET = "whsec_" + base64.b64encode(b"key of the command-line test").decode()


def invoke(tmp_path: Path, toml: str, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    config = tmp_path / "w.toml"
    config.write_text(toml)
    db = f"sqlite:///{tmp_path / 'w.db'}"
    result = CliRunner().invoke(cli, ["--config", str(config), "--db", db, *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_notify_test_reaches_teams_and_a_signed_webhook(tmp_path: Path) -> None:
    certificate = make_certificate(tmp_path)
    teams = TeamsServer(certificate)
    hook = WebhookReceiver(certificate, SECRET, readme_verify())
    teams.start()
    hook.start()
    try:
        env = {
            "TEAMS_WEBHOOK_URL": teams.url("workflows/abc/triggers/manual/paths/invoke?sig=S1g"),
            "TOOLING_WEBHOOK_URL": hook.url("hooks/watcher"),
            "TOOLING_WEBHOOK_SECRET": SECRET,
            "SSL_CERT_FILE": str(certificate[0]),
        }
        for name in ("identity-team", "platform-tooling"):
            code, out, err = invoke(tmp_path, ROUTES, env, "notify", "test", name)
            assert code == 0, out + err
            assert f"(test) on route {name}: sent" in out
    finally:
        teams.stop()
        hook.stop()
    [card] = teams.cards()
    assert card["body"][0]["text"] == "watcher test message for route identity-team"
    [post] = hook.posts
    assert hook.verified == [True] and post.json["type"] == "test"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("secret_env", "secert_env"),
            "routes[1].secert_env: unknown key; did you mean 'secret_env'?",
        ),
        (
            ('webhook_url_env = "TEAMS_WEBHOOK_URL"\n', ""),
            "routes[0]: a teams route needs webhook_url_env (its Workflows webhook URL)",
        ),
        (
            ('secret_env = "TOOLING_WEBHOOK_SECRET"\n', ""),
            "routes[1]: a webhook route needs url_env and secret_env",
        ),
    ],
)
def test_config_check_names_the_file_and_the_key(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    code, _, err = invoke(tmp_path, ROUTES.replace(*change), {}, "config", "check")
    assert code == 2
    assert f"{tmp_path / 'w.toml'}: {message}" in err


def test_config_check_names_each_unset_variable(tmp_path: Path) -> None:
    env = {"TEAMS_WEBHOOK_URL": "https://example.invalid/x", "TOOLING_WEBHOOK_URL": "https://x"}
    code, out, err = invoke(tmp_path, ROUTES, env, "config", "check")
    assert code == 2
    assert "route identity-team: teams" in out and "route platform-tooling: webhook" in out
    assert err.strip() == (
        "watcher: route platform-tooling: secret_env: "
        "the environment variable TOOLING_WEBHOOK_SECRET is not set"
    )


def test_config_check_refuses_a_url_a_channel_could_never_post_to(tmp_path: Path) -> None:
    # Teams and signed webhooks post over https only: a plain http URL would go dead on the
    # first send, so config check says so (naming the variable, never its value).
    env = {
        "TEAMS_WEBHOOK_URL": "http://teams.example.invalid/x",
        "TOOLING_WEBHOOK_URL": "https://x",
        "TOOLING_WEBHOOK_SECRET": "whsec_c2VjcmV0",
    }
    code, _, err = invoke(tmp_path, ROUTES, env, "config", "check")
    assert code == 2
    assert err.strip() == (
        "watcher: route identity-team: webhook_url_env: the environment variable "
        "TEAMS_WEBHOOK_URL holds no https:// URL (a teams route posts over https only)"
    )
    assert "teams.example.invalid" not in err


APPRISE = """\
[[routes]]
name = "pager"
channel = "apprise"
url_env = "PAGER_APPRISE_URL"
"""


def test_notify_test_reaches_an_apprise_target(tmp_path: Path) -> None:
    server = SlackServer().start()
    try:
        env = {"PAGER_APPRISE_URL": f"json://127.0.0.1:{server.port}/ok/Tk7f3c2a9e1b4d4e"}
        code, out, err = invoke(tmp_path, APPRISE, env, "notify", "test", "pager")
        assert code == 0, out + err
        assert "(test) on route pager: sent" in out
        code, out, err = invoke(tmp_path, APPRISE, env, "config", "check")
        assert (code, err) == (0, "") and "route pager: apprise" in out
    finally:
        server.stop()
    [got] = server.received()
    assert "watcher test message for route pager" in got.body["title"] + got.body["message"]


def test_config_check_names_the_apprise_extra_when_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # How Python sees a package that is not installed: find_spec None, import fails.
    monkeypatch.setitem(sys.modules, "apprise", None)
    env = {"PAGER_APPRISE_URL": "json://127.0.0.1:9/x"}
    code, _, err = invoke(tmp_path, APPRISE, env, "config", "check")
    assert code == 2
    assert err == (
        f"watcher: {tmp_path / 'w.toml'}: route pager: channel apprise needs the apprise "
        "extra: pip install 'azure-mi-watcher[apprise]'\n"
    )


def test_config_check_wants_url_env_on_an_apprise_route(tmp_path: Path) -> None:
    toml = APPRISE.replace('url_env = "PAGER_APPRISE_URL"', 'webhook_url_env = "X"')
    code, _, err = invoke(tmp_path, toml, {}, "config", "check")
    assert code == 2
    assert err.endswith(
        "routes[0]: an apprise route needs url_env (its apprise URL), and only that\n"
    )
