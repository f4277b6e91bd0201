"""What the config's objects do, written once for the pydantic models (watcher.config.models)
and the plain objects the cache rebuilds (watcher.config.cache): a source's interval, a
route's quiet hours, repeat and secrets, a guard's policy, a source by name.

Attributes are declared for the type checker only, so that neither pydantic nor dataclasses
take them for fields of their own. Nothing here imports pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from watcher.config import parse_duration

if TYPE_CHECKING:
    from watcher.config.models import RouteConfig, SourceConfig
    from watcher.domain.digest import Schedule
    from watcher.domain.guard import GuardPolicy
    from watcher.domain.quiet import QuietHours


class GuardSettings:
    """A source's ``[sources.guard]``."""

    if TYPE_CHECKING:
        max_entity_loss: float
        second_look_removed: int
        second_look_removed_share: float
        second_look_added: int
        max_unknown_increase: float
        confirmations: int

    def policy(self) -> GuardPolicy:
        from watcher.domain.guard import GuardPolicy

        return GuardPolicy(
            max_entity_loss=self.max_entity_loss,
            second_look_removed=self.second_look_removed,
            second_look_removed_share=self.second_look_removed_share,
            second_look_added=self.second_look_added,
            max_unknown_increase=self.max_unknown_increase,
            confirmations=self.confirmations,
        )


class SourceSettings:
    """A ``[[sources]]`` entry."""

    if TYPE_CHECKING:
        every: str | None

    @property
    def interval_seconds(self) -> int:
        return parse_duration(self.every) if self.every else 3600


# The keys of a route that name the environment variable of a secret read at send time.
SECRET_KEYS = (
    "webhook_url_env",
    "url_env",
    "secret_env",
    "token_env",
    "smtp_username_env",
    "smtp_password_env",
)


class RouteSettings:
    """A ``[[routes]]`` entry."""

    if TYPE_CHECKING:
        quiet_hours: str | None
        repeat_every: str
        digest: str | None

    @property
    def quiet(self) -> QuietHours | None:
        from watcher.domain.quiet import parse_quiet_hours

        return parse_quiet_hours(self.quiet_hours) if self.quiet_hours else None

    @property
    def schedule(self) -> Schedule | None:
        """The digest's schedule, or None for a route that sends each change set."""
        from watcher.domain.digest import parse_schedule

        return parse_schedule(self.digest) if self.digest else None

    @property
    def repeat_seconds(self) -> int:
        return parse_duration(self.repeat_every)

    def secret_envs(self) -> tuple[tuple[str, str], ...]:
        """(key, environment variable name) of every secret this route reads at send time."""
        return tuple((k, v) for k in SECRET_KEYS if (v := getattr(self, k)) is not None)


class ConfigSettings:
    """The whole file."""

    if TYPE_CHECKING:
        sources: tuple[SourceConfig, ...]
        routes: tuple[RouteConfig, ...]

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)
