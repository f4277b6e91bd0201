"""How a dispatch run behaves: the retry backoff and its limits (``DispatchPolicy``), and what
a run takes from the outside world (``Run``: the config, the environment, the clock), so
tests can inject each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from watcher.config import Config, RouteConfig


@dataclass(frozen=True)
class DispatchPolicy:
    backoff_base: float = 5.0  # seconds before the first retry (before jitter)
    backoff_cap: float = 1800.0
    max_attempts: int = 20  # about six hours of trying with the defaults, then dead
    max_retry_after: float = 3600.0  # a Retry-After longer than this is not believed
    linger: float = 30.0  # keep retrying in this run while a retry is due this soon
    lease: float = 300.0  # a claim older than this is taken to be a dead dispatcher's
    batch: int = 100

    def delay(self, attempts: int, retry_after: float | None, rng: Callable[[], float]) -> float:
        """Seconds until the next try after ``attempts`` failed ones.

        "Equal jitter": between half and all of the exponential step, so retries of many
        rows spread out yet none comes back almost at once. Never before a Retry-After.
        """
        step = min(self.backoff_cap, self.backoff_base * 2.0 ** max(0, attempts - 1))
        delay = step * (0.5 + rng() / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


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
