"""Configuration: defaults, precedence, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cliutil import run
from watcher.config import ConfigError, load_config, parse_duration, resolve
from watcher.domain.document import Change
from watcher.domain.known import KINDS, columns, rows
from watcher.domain.routes import wants

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_config_is_valid_and_watches_the_live_markdown() -> None:
    config = load_config(ROOT / "config" / "watcher.toml")
    (source,) = config.sources
    assert source.url.startswith("https://raw.githubusercontent.com/MicrosoftDocs/entra-docs/")
    assert source.url.endswith("managed-identities-status.md")
    assert source.format == "markdown"
    assert config.database.url.startswith("sqlite:///")


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WATCHER_CONFIG", raising=False)
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    settings = resolve(None, None)
    assert settings.config_path is None
    assert settings.database_url == "sqlite:///watcher.db"
    assert settings.config.sources[0].name == "azure-managed-identities"


def test_flag_beats_env_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "w.toml"
    cfg.write_text('[database]\nurl = "sqlite:///from-file.db"\n')
    monkeypatch.setenv("WATCHER_CONFIG", str(cfg))
    assert resolve(None, None).database_url == "sqlite:///from-file.db"
    monkeypatch.setenv("WATCHER_DATABASE_URL", "sqlite:///from-env.db")
    assert resolve(None, None).database_url == "sqlite:///from-env.db"
    assert resolve(None, "sqlite:///from-flag.db").database_url == "sqlite:///from-flag.db"


QUIET = '[[routes]]\nname = "r"\nchannel = "stdout"\n'


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[sources]]\nname = "a"\nurl = "ftp://x"\n', "sources[0].url"),
        ('[[sources]]\nname = "a"\nurl = "https://x"\nevery = "soon"\n', "sources[0].every"),
        ('[[sources]]\nname = "a"\nurl = "https://x"\nformat = "pdf"\n', "sources[0].format"),
        ('[[routes]]\nname = "r"\nchannel = "slack"\n', "routes[0]: a slack route needs"),
        ('[[routes]]\nname = "r"\nchannel = "email"\nsmtp_host = "h"\n', "needs from, to"),
        ("[database]\nurll = 1\n", "database.urll: unknown key; did you mean 'url'?"),
        ('[database]\nurl = "u:secret@h/db"\n', "database.url: not a database URL"),
        (
            '[database]\nurl = "mysql://u:secret@h/db"\n',
            "database.url: 'mysql' is not a database watcher speaks: use sqlite:///PATH or "
            "postgresql://USER@HOST/DBNAME",
        ),
        ("[[sources]\n", "not valid TOML"),
        (
            f'{QUIET}quiet_hours = "22:00-07:00 Europe/Atlantis"\n',
            "routes[0].quiet_hours: '22:00-07:00 Europe/Atlantis': 'Europe/Atlantis' is not a "
            "known time zone",
        ),
        (
            f'{QUIET}quiet_hours = "10pm-7am"\n',
            "routes[0].quiet_hours: '10pm-7am' is not a window like \"22:00-07:00 Europe/Berlin\"",
        ),
        (
            f'{QUIET}quiet_hours_bypass = "warning"\n',
            "routes[0]: quiet_hours_bypass needs quiet_hours",
        ),
        (
            f'{QUIET}quiet_hours = "22:00-07:00 UTC"\nquiet_hours_bypass = "urgent"\n',
            "routes[0].quiet_hours_bypass: 'urgent' is not a known severity",
        ),
        (
            f'{QUIET}digest = "every morning"\n',
            "routes[0].digest: 'every morning' is not a schedule like \"daily 09:00 "
            'Europe/Berlin" or "weekly mon 09:00 Europe/Berlin"',
        ),
        (
            f'{QUIET}digest = "weekly 09:00 Europe/Berlin"\n',
            "routes[0].digest: 'weekly 09:00 Europe/Berlin': a weekly digest names its day, like",
        ),
        (
            f'{QUIET}digest = "daily 09:00 Mars/Olympus"\n',
            "routes[0].digest: 'daily 09:00 Mars/Olympus': 'Mars/Olympus' is not a known time zone",
        ),
        (
            f'{QUIET}digest = "daily 09:00 UTC"\nquiet_hours = "22:00-07:00 UTC"\n',
            "routes[0]: give digest or quiet_hours, not both: a digest goes at the time it names",
        ),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    result = run("config", "check", config=str(path), code=2)
    assert result.stderr.startswith("watcher: ") and message in result.stderr
    assert "secret" not in result.stderr  # a password in a database URL is never repeated
    assert result.stderr.count("\n") == 1


def test_config_check_ok(tmp_path: Path) -> None:
    out = run("config", "check", config=str(ROOT / "config" / "watcher.toml")).stdout
    assert "source azure-managed-identities" in out and out.rstrip().endswith("ok")


def test_missing_config_file_is_exit_2(tmp_path: Path) -> None:
    result = run("config", "check", config=str(tmp_path / "nope.toml"), code=2)
    assert "nope.toml: no such file" in result.stderr


def test_durations() -> None:
    assert [parse_duration(x) for x in ("45s", "30m", "1h", "2d")] == [45, 1800, 3600, 172800]
    with pytest.raises(ValueError):
        parse_duration("0m")


SOURCE = '[[sources]]\nname = "a"\nurl = "https://x"\n'
ROUTE = '[[routes]]\nname = "r"\nchannel = "stdout"\n'
KNOWN_COLUMNS = ", ".join(columns())
KNOWN_ROWS = ", ".join(rows())


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        # What the daemon's APScheduler would refuse at start, with a traceback, in a loop.
        (
            SOURCE + 'cron = "61 * * * *"\n',
            "sources[0].cron: '61 * * * *' is not a valid cron expression: Error validating "
            "expression '61': the last value (61) is higher than the maximum value (59)",
        ),
        (
            SOURCE + 'cron = "7 * * *"\n',
            "sources[0].cron: '7 * * *' is not a valid cron expression: "
            "Wrong number of fields; got 4, expected 5",
        ),
        (
            ROUTE + 'webhook_url = "https://hooks.slack.com/x"\n',
            "routes[0].webhook_url: unknown key; did you mean 'webhook_url_env'?",
        ),
        ('[databse]\nurl = "sqlite:///x.db"\n', "databse: unknown key; did you mean 'database'?"),
        (SOURCE + "every_ = 1\n", "sources[0].every_: unknown key; did you mean 'every'?"),
        (
            ROUTE + 'kinds = ["status_change"]\n',
            "routes[0].kinds: 'status_change' is not a known change kind; did you mean "
            f"'status_changed'? (known: {', '.join(KINDS)})",
        ),
        (
            ROUTE + 'columns = ["usgovt"]\n',
            "routes[0].columns: 'usgovt' is not a known column key; did you mean 'usgov'? "
            f"(known: {KNOWN_COLUMNS})",
        ),
        (
            ROUTE + 'rows = ["user"]\n',
            f"routes[0].rows: 'user' is not a known row key (known: {KNOWN_ROWS})",
        ),
        (
            ROUTE + 'min_severity = "warn"\n',
            "routes[0].min_severity: 'warn' is not a known severity; did you mean 'warning'? "
            "(known: info, notice, warning)",
        ),
        # The web view's table: a typo, a port that is none, a token given in the file.
        ("[web]\nenabeld = true\n", "web.enabeld: unknown key; did you mean 'enabled'?"),
        ("[web]\nport = 70000\n", "web.port: Input should be less than 65536"),
        ('[web]\ntoken = "abc"\n', "web.token: unknown key; did you mean 'token_env'?"),
        ('[web]\ntoken_env = "MY TOKEN"\n', "web.token_env: String should match pattern"),
    ],
)
def test_typos_are_refused_with_the_file_the_key_and_a_suggestion(
    tmp_path: Path, toml: str, line: str
) -> None:
    path = tmp_path / "w.toml"
    path.write_text(toml)
    result = run("config", "check", config=str(path), code=2)
    assert result.stderr.startswith(f"watcher: {path}: {line}")
    assert result.stderr.count("\n") == 1
    # Every command loads the config the same way: none of them starts on a typo.
    assert run("status", config=str(path), db=f"sqlite:///{tmp_path}/w.db", code=2).stderr == (
        result.stderr
    )


def test_a_valid_cron_and_known_filters_pass(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(
        SOURCE
        + 'cron = "*/15 6-18 * * mon-fri"\n'
        + ROUTE
        + 'kinds = ["status_changed", "format_changed"]\ncolumns = ["usgov", "china"]\n'
        + 'rows = ["user_assigned"]\nmin_severity = "info"\n'
    )
    out = run("config", "check", config=str(path)).stdout
    assert "source a: https://x (auto, cron */15 6-18 * * mon-fri)" in out
    assert out.rstrip().endswith("ok")


def test_a_route_with_rows_hears_only_those_rows(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(ROUTE + 'rows = ["user_assigned"]\n')
    (route,) = load_config(path).routes
    system = Change("status_changed", "notice", "S", "E", row="system_assigned", column="usgov")
    user = Change("status_changed", "notice", "S", "E", row="user_assigned", column="usgov")
    added = Change("entity_added", "notice", "S", "E")
    assert [wants(route, "a", c) for c in (system, user, added)] == [False, True, True]
