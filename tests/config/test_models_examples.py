"""The commented route examples at the end of config/watcher.toml are valid when uncommented,
and RouteConfig's delivery settings are validated."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tests.conftest import ROOT
from tests.delivery.conftest import route
from watcher.config import Config
from watcher.delivery.channels import missing_secrets
from watcher.domain.digest import parse_schedule


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
    assert config.routes[2].digest == "daily 09:00 Europe/Berlin"
    weekly = config.routes[5].schedule
    assert weekly is not None and weekly.weekday == 0
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


def test_the_readme_notification_routes_are_valid_and_its_digests_say_what_they_do() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Notifications", 1)[1]
    block = section.split("```toml\n", 1)[1].split("```", 1)[0]
    config = Config.model_validate(tomllib.loads(block))
    [teams] = [r for r in config.routes if r.channel == "teams"]
    daily = teams.schedule
    assert daily is not None and teams.digest == "daily 09:00 Europe/Berlin"
    # "09:00 Berlin is 08:00 UTC in winter and 07:00 UTC in summer", as the Digests section says.
    assert daily.next(datetime(2026, 1, 10, tzinfo=UTC)) == datetime(2026, 1, 10, 8, tzinfo=UTC)
    assert daily.next(datetime(2026, 7, 10, tzinfo=UTC)) == datetime(2026, 7, 10, 7, tzinfo=UTC)
    digests = text.split("### Digests", 1)[1].split("\n### ", 1)[0]
    assert "08:00 UTC in winter and 07:00 UTC in" in digests
    gap = parse_schedule("daily 02:30 Europe/Berlin")
    # "falls at 03:30" on the night clocks go forward (29 March 2026, CEST from 03:00).
    assert gap.next(datetime(2026, 3, 29, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
