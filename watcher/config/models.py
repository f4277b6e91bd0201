"""Validate the TOML configuration into frozen pydantic models: the rules of every key.

Errors name the file and the key (``config/watcher.toml: sources[0].every: ...``). Secrets
are never read from the file: the config names environment variables, and the values are
looked up only when a channel is built, so they never pass through here.

Commands load the config through ``watcher.config.resolve``, which asks watcher.config.cache:
the models here judge a file only when the cache does not hold it (and for ``config check``).
"""

from __future__ import annotations

import io
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from watcher.config import (
    DEFAULT_DATABASE_URL,
    DEFAULT_MAX_BYTES,
    LIVE_PAGE_URL,
    ConfigError,
    parse_duration,
)
from watcher.config.mixins import ConfigSettings, GuardSettings, RouteSettings, SourceSettings
from watcher.domain import known
from watcher.domain.digest import parse_schedule
from watcher.domain.guard import GuardPolicy
from watcher.domain.quiet import parse_quiet_hours
from watcher.storage.dialect import url_problem

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


def cron_trigger(expression: str) -> CronTrigger:
    """The daemon's trigger for a source's ``cron``; config validation builds the same one,
    so an expression the check accepts is one the daemon runs."""
    from datetime import UTC

    # Imported here: APScheduler is for the daemon and a config with cron; a cron check
    # of a config without one never pays for it.
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(expression, timezone=UTC)


def _known_names(what: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if value not in allowed:
            raise ValueError(known.unknown_value(what, value, allowed))
    return values


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class DatabaseConfig(_Model):
    url: str = DEFAULT_DATABASE_URL

    @field_validator("url")
    @classmethod
    def _known_database(cls, v: str) -> str:
        problem = url_problem(v)
        if problem is not None:
            raise ValueError(problem)
        return v


_GUARD = GuardPolicy()


class GuardConfig(GuardSettings, _Model):
    """A source's guard settings (``[sources.guard]``); see watcher.domain.guard.GuardPolicy."""

    max_entity_loss: float = Field(default=_GUARD.max_entity_loss, gt=0, le=1)
    second_look_removed: int = Field(default=_GUARD.second_look_removed, ge=0)
    second_look_removed_share: float = Field(default=_GUARD.second_look_removed_share, ge=0, le=1)
    second_look_added: int = Field(default=_GUARD.second_look_added, ge=1)
    max_unknown_increase: float = Field(default=_GUARD.max_unknown_increase, gt=0, le=1)
    confirmations: int = Field(default=_GUARD.confirmations, ge=1, le=100)


class SourceConfig(SourceSettings, _Model):
    name: str = Field(pattern=known.NAME_PATTERN)
    url: str = Field(pattern=r"^https?://")
    format: Literal["markdown", "html", "auto"] = "auto"
    every: str | None = None
    cron: str | None = None
    timeout: float = Field(default=30.0, gt=0)
    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, gt=0)
    attempts: int = Field(default=4, ge=1, le=10)  # tries per check, with backoff between
    failing_after: int = Field(default=3, ge=1)  # failed checks in a row before "failing"
    stale_after: str = "24h"  # no successful check for this long makes the source stale
    guard: GuardConfig = GuardConfig()

    @field_validator("stale_after")
    @classmethod
    def _stale_is_duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @field_validator("every")
    @classmethod
    def _every_is_duration(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("cron")
    @classmethod
    def _cron_is_valid(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                cron_trigger(v)
            except ValueError as exc:
                raise ValueError(f"{v!r} is not a valid cron expression: {exc}") from None
        return v

    @model_validator(mode="after")
    def _one_schedule(self) -> SourceConfig:
        if self.every is not None and self.cron is not None:
            raise ValueError("give either every or cron, not both")
        return self


class RouteConfig(RouteSettings, _Model):
    name: str = Field(pattern=known.NAME_PATTERN)
    channel: Literal["slack", "teams", "webhook", "apprise", "email", "stdout"]
    entities: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    min_severity: Literal["info", "notice", "warning"] = "notice"
    sources: tuple[str, ...] = ()
    ops: bool = False
    # Slack and Teams (a Workflows webhook URL): the URL is a secret
    webhook_url_env: EnvName | None = None
    # The signed webhook: its URL and its HMAC secret (Standard Webhooks; whsec_ is base64);
    # an apprise route: its apprise URL (a secret too)
    url_env: EnvName | None = None
    secret_env: EnvName | None = None
    token_env: EnvName | None = None
    channel_id: str | None = None
    # Email
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, gt=0, lt=65536)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username_env: EnvName | None = None
    smtp_password_env: EnvName | None = None
    from_: str | None = Field(default=None, alias="from")
    to: tuple[str, ...] = ()
    # Delivery: seconds before one send attempt gives up (connect, and each read), and for
    # ops routes, how often a lasting problem is repeated.
    timeout: float = Field(default=10.0, gt=0, le=300)
    repeat_every: str = "24h"
    # Quiet hours: change sets wait until the window ends, unless this severity or worse.
    quiet_hours: str | None = None
    quiet_hours_bypass: Literal["info", "notice", "warning"] | None = None
    # A digest: change sets wait for this time and go as one message (watcher.domain.digest).
    digest: str | None = None
    # Slack Web API base URL (GovSlack has its own; tests point it at a local server).
    api_url: str = Field(default="https://slack.com/api/", pattern=r"^https?://")

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _known_names("change kind", v, known.KINDS)

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _known_names("column key", v, known.columns()) if v else v

    @field_validator("rows")
    @classmethod
    def _known_rows(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _known_names("row key", v, known.rows()) if v else v

    @field_validator("min_severity", "quiet_hours_bypass", mode="before")
    @classmethod
    def _known_severity(cls, v: Any) -> Any:
        if isinstance(v, str):
            _known_names("severity", (v,), known.SEVERITIES)
        return v

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_window(cls, v: str | None) -> str | None:
        if v is not None:
            parse_quiet_hours(v)
        return v

    @field_validator("digest")
    @classmethod
    def _digest_schedule(cls, v: str | None) -> str | None:
        if v is not None:
            parse_schedule(v)
        return v

    @field_validator("repeat_every")
    @classmethod
    def _repeat_every_is_duration(cls, v: str) -> str:
        parse_duration(v)
        return v

    @model_validator(mode="after")
    def _channel_settings(self) -> RouteConfig:
        if self.channel == "slack" and not (
            self.webhook_url_env or (self.token_env and self.channel_id)
        ):
            raise ValueError("a slack route needs webhook_url_env, or token_env and channel_id")
        if self.channel == "teams" and not self.webhook_url_env:
            raise ValueError("a teams route needs webhook_url_env (its Workflows webhook URL)")
        if self.channel == "webhook":
            if self.webhook_url_env:
                raise ValueError("a webhook route names its URL's variable in url_env")
            if not (self.url_env and self.secret_env):
                raise ValueError("a webhook route needs url_env and secret_env")
        elif self.channel == "apprise":
            if not self.url_env or self.webhook_url_env or self.secret_env:
                raise ValueError("an apprise route needs url_env (its apprise URL), and only that")
        elif self.url_env or self.secret_env:
            raise ValueError("url_env and secret_env are for webhook and apprise routes only")
        if self.quiet_hours_bypass and not self.quiet_hours:
            raise ValueError("quiet_hours_bypass needs quiet_hours")
        if self.digest and self.quiet_hours:
            raise ValueError(
                "give digest or quiet_hours, not both: a digest goes at the time it names, "
                "which is already the time you chose to hear about changes"
            )
        if self.channel == "email":
            missing = [k for k in ("smtp_host", "from_", "to") if not getattr(self, k)]
            if missing:
                names = ", ".join("from" if k == "from_" else k for k in missing)
                raise ValueError(f"an email route needs {names}")
        return self


class WebConfig(_Model):
    """The read-only web view (``[web]``): served by ``watcher serve``, and inside ``watcher
    run`` when enabled; on localhost unless ``host`` says otherwise. ``token_env`` names the
    environment variable holding the bearer token the API and the feeds then ask for."""

    enabled: bool = False
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, gt=0, lt=65536)
    token_env: EnvName | None = None


class Config(ConfigSettings, _Model):
    database: DatabaseConfig = DatabaseConfig()
    sources: tuple[SourceConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    web: WebConfig = WebConfig()

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        for kind, items in (("sources", self.sources), ("routes", self.routes)):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"{kind}: the name {item.name!r} is used twice")
                seen.add(item.name)
        return self


def default_config() -> Config:
    """What runs with no config file: the live page, checked hourly, into a local SQLite file."""
    return Config(
        sources=(
            SourceConfig(
                name="azure-managed-identities", url=LIVE_PAGE_URL, format="markdown", every="1h"
            ),
        )
    )


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + ("from" if part == "from_" else part)
    return out


def _keys_at(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """The keys the table at ``loc`` may hold, as the file spells them."""
    model: type[BaseModel] = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return ()
        # A table (DatabaseConfig) or an array of tables (tuple[SourceConfig, ...]).
        inner = next(iter(get_args(field.annotation)), field.annotation)
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return ()
        model = inner
    return tuple(f.alias or name for name, f in model.model_fields.items())


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    allowed = _keys_at(loc[:-1])
    hint = known.suggestion(str(loc[-1]), allowed)
    return f"unknown key{hint}" if hint else f"unknown key (known: {', '.join(allowed)})"


def load_config(path: Path) -> Config:
    """Read and validate one TOML file in full; every error names the file and the key."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    return parse_config(path, data)


def parse_config(path: Path, data: bytes) -> Config:
    """Validate the bytes read from ``path`` (named in every error)."""
    try:
        # Decoded as Path.read_text would (newlines translated), so the TOML read is the same.
        text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
        parsed = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Config.model_validate(parsed)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _location(first["loc"]) or "(top level)"
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = _unknown_key(first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {key}: {msg}{more}") from None
