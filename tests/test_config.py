"""Configuration: defaults, precedence, and errors that name the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cliutil import run
from watcher.config import ConfigError, load_config, parse_duration, resolve

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[[sources]]\nname = "a"\nurl = "ftp://x"\n', "sources[0].url"),
        ('[[sources]]\nname = "a"\nurl = "https://x"\nevery = "soon"\n', "sources[0].every"),
        ('[[sources]]\nname = "a"\nurl = "https://x"\nformat = "pdf"\n', "sources[0].format"),
        ('[[routes]]\nname = "r"\nchannel = "slack"\n', "routes[0]: a slack route needs"),
        ('[[routes]]\nname = "r"\nchannel = "email"\nsmtp_host = "h"\n', "needs from, to"),
        ("[database]\nurll = 1\n", "database.urll: Extra inputs are not permitted"),
        ("[[sources]\n", "not valid TOML"),
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
