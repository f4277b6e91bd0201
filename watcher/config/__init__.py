"""The configuration: where it comes from and the one way every command loads it (``resolve``).

May import: domain, storage (the database URL's rules).

``resolve`` applies the precedence (flags, environment, ``config/watcher.toml``, defaults)
and loads the file through watcher.config.cache, which answers an unchanged file from the
cache of its validated form and validates it in full (watcher.config.models, pydantic) only
when the file, the code or the environment it depends on moved. A cron check of an unchanged
config therefore never imports pydantic: this package's own modules import it only in
``models``, and the models are reached from here lazily (``from watcher.config import
SourceConfig`` imports them on first use).

- ``mixins``: what the config's objects do (a source's interval, a route's quiet hours and
  secrets, a guard's policy), shared by the models and the cache's plain objects.
- ``models``: the rules of every key, as frozen pydantic models; every error names its file
  and key.
- ``cache``: the validated config kept between runs, rebuilt into plain objects.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watcher.storage.dialect import redact_url, url_problem

if TYPE_CHECKING:
    from watcher.config.models import Config as Config
    from watcher.config.models import DatabaseConfig as DatabaseConfig
    from watcher.config.models import GuardConfig as GuardConfig
    from watcher.config.models import RouteConfig as RouteConfig
    from watcher.config.models import SourceConfig as SourceConfig
    from watcher.config.models import WebConfig as WebConfig
    from watcher.config.models import cron_trigger as cron_trigger
    from watcher.config.models import default_config as default_config
    from watcher.config.models import load_config as load_config
    from watcher.config.models import parse_config as parse_config

DEFAULT_CONFIG_PATH = Path("config/watcher.toml")
DEFAULT_DATABASE_URL = "sqlite:///watcher.db"
ENV_URL = "WATCHER_DATABASE_URL"  # the database URL from the environment, over the file's
LIVE_PAGE_URL = (
    "https://raw.githubusercontent.com/MicrosoftDocs/entra-docs/main/docs/identity/"
    "managed-identities-azure-resources/managed-identities-status.md"
)

# The biggest page a source takes (its max_bytes), fetched or imported.
DEFAULT_MAX_BYTES = 5 * 1024 * 1024

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(Exception):
    """A configuration problem, with the file and key it concerns in the message."""


def parse_duration(text: str) -> int:
    """Seconds in a duration such as ``30m``, ``1h``, ``45s`` or ``2d``."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 1h or 1d")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return seconds


@dataclass(frozen=True)
class Settings:
    """The configuration in force and where it came from."""

    config: Config
    config_path: Path | None
    database_url: str


def resolve(config_path: str | None, db_url: str | None, *, cached: bool = True) -> Settings:
    """Apply the precedence: flags, then environment, then config/watcher.toml, then defaults.

    ``cached=False`` validates the file in full whatever the cache holds (``config check``)."""
    from watcher.config.cache import load

    path_text = config_path or os.environ.get("WATCHER_CONFIG")
    path: Path | None
    if path_text:
        path = Path(path_text)
    elif DEFAULT_CONFIG_PATH.is_file():
        path = DEFAULT_CONFIG_PATH
    else:
        path = None
    config = load(path, cached=cached)
    # The config file's URL was checked as it loaded; one given outside it is checked here,
    # named by where it came from, before any command opens it.
    for given, where in ((db_url, "--db"), (os.environ.get(ENV_URL), ENV_URL)):
        if given:
            problem = url_problem(given)
            if problem is not None:
                raise ConfigError(f"{where} {redact_url(given)}: {problem}")
            return Settings(config=config, config_path=path, database_url=given)
    return Settings(config=config, config_path=path, database_url=config.database.url)


# What watcher.config.models defines, reached from here on first use (PEP 562).
_MODELS = frozenset(
    {
        "Config",
        "DatabaseConfig",
        "GuardConfig",
        "RouteConfig",
        "SourceConfig",
        "WebConfig",
        "cron_trigger",
        "default_config",
        "load_config",
        "parse_config",
    }
)


def __getattr__(name: str) -> Any:
    if name in _MODELS:
        from watcher.config import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
