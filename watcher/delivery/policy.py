"""How a dispatch run behaves: the retry backoff and its limits (``DispatchPolicy``), and what
a run takes from the outside world (``Run``: the config, the environment, the clock), so
tests can inject each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TextIO

from watcher.domain.retry import Backoff

if TYPE_CHECKING:
    from watcher.config import Config, RouteConfig


@dataclass(frozen=True)
class DispatchPolicy:
    backoff_base: float = 5.0  # seconds before the first retry (before jitter)
    backoff_cap: float = 1800.0
    max_attempts: int = 20  # about six hours of trying with the defaults, then dead
    max_retry_after: float = 3600.0  # a longer Retry-After is waited this long
    linger: float = 30.0  # keep retrying in this run while a retry is due this soon
    lease: float = 300.0  # a claim older than this is taken to be a dead dispatcher's
    batch: int = 100

    def delay(self, attempts: int, retry_after: float | None, rng: Callable[[], float]) -> float:
        """Seconds until the next try after ``attempts`` failed ones: the one retry policy
        (watcher.domain.retry) with this policy's base, cap and Retry-After limit."""
        schedule = Backoff(self.backoff_base, self.backoff_cap, self.max_retry_after)
        return schedule.delay(attempts, retry_after, rng())


@dataclass(frozen=True)
class Run:
    """What a run uses from the outside world, injectable for tests."""

    config: Config
    environ: Mapping[str, str]
    policy: DispatchPolicy
    now: Callable[[], datetime]
    sleep: Callable[[float], None]
    rng: Callable[[], float]
    stdout: TextIO | None

    def route(self, name: str) -> RouteConfig | None:
        return next((r for r in self.config.routes if r.name == name), None)
