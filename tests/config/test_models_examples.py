"""The commented route examples at the end of config/watcher.toml are valid when uncommented,
and RouteConfig's delivery settings are validated."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from tests.conftest import ROOT
from tests.delivery.conftest import route
from watcher.config import Config
from watcher.delivery.channels import missing_secrets


def test_the_commented_route_examples_are_valid() -> None:
    text = (ROOT / "config" / "watcher.toml").read_text(encoding="utf-8")
    commented = text[text.index("# [[routes]]") :]
    uncommented = "\n".join(
        line.removeprefix("#").removeprefix(" ") for line in commented.splitlines()
    )
    config = Config.model_validate(tomllib.loads(uncommented))
    channels = [r.channel for r in config.routes]
    assert channels == ["slack", "slack", "teams", "webhook", "apprise", "email", "stdout"]
    assert config.routes[6].ops and config.routes[6].repeat_seconds == 86400
    assert config.routes[1].quiet is not None and config.routes[1].quiet_hours_bypass == "warning"
    assert missing_secrets(config.routes[4], {}) == [("url_env", "ONCALL_APPRISE_URL")]
    assert missing_secrets(config.routes[5], {"SMTP_USERNAME": "u"}) == [
        ("smtp_password_env", "SMTP_PASSWORD")
    ]
    assert missing_secrets(config.routes[3], {"TOOLING_WEBHOOK_URL": "https://x"}) == [
        ("secret_env", "TOOLING_WEBHOOK_SECRET")
    ]


def test_repeat_every_and_timeout_are_validated() -> None:
    assert route("r", "stdout", repeat_every="90m").repeat_seconds == 5400
    with pytest.raises(ValidationError, match="is not a duration"):
        route("r", "stdout", repeat_every="daily")
    with pytest.raises(ValidationError):
        route("r", "stdout", timeout=0)
