"""Prometheus metrics and a /healthz endpoint for the daemon (``watcher run --metrics-port``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, get_args
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app

from watcher.audit.status import SOURCE_STATES
from watcher.delivery.states import STATES as NOTIFICATION_STATES
from watcher.domain.outcome import Outcome, Result


class Metrics:
    """The daemon's counters, in a registry of their own (tests run several daemons)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.checks = Counter(
            "watcher_checks",
            "Checks run, by source and result",
            ["source", "result"],
            registry=self.registry,
        )
        self.failures = Counter(
            "watcher_check_failures", "Checks that failed", ["source"], registry=self.registry
        )
        self.changes = Counter(
            "watcher_changes", "Changes recorded", ["source"], registry=self.registry
        )
        self.last_success = Gauge(
            "watcher_last_success_timestamp_seconds",
            "Unix time of the last successful check",
            ["source"],
            registry=self.registry,
        )
        self.notifications = Gauge(
            "watcher_notifications", "Outbox rows by state", ["state"], registry=self.registry
        )
        self.source_state = Gauge(
            "watcher_source_state",
            "1 for the state each source is in (ok, failing, stale, quarantined), 0 for the others",
            ["source", "state"],
            registry=self.registry,
        )

    def add_source(self, name: str, last_success: float | None) -> None:
        """Give a source's series their first samples, so a rule sees them before a check."""
        for result in get_args(Result):
            self.checks.labels(name, result)
        self.failures.labels(name)
        self.changes.labels(name)
        if last_success is not None:
            self.last_success.labels(name).set(last_success)

    def drop_source(self, name: str) -> None:
        """A source gone from the config (after a reload) leaves no stale series behind."""
        for metric in (self.failures, self.changes, self.last_success):
            with contextlib.suppress(KeyError):
                metric.remove(name)
        for result in get_args(Result):
            with contextlib.suppress(KeyError):
                self.checks.remove(name, result)
        for state in SOURCE_STATES:
            with contextlib.suppress(KeyError):
                self.source_state.remove(name, state)

    def set_source_state(self, name: str, state: str | None) -> None:
        """1 on the series of ``state``, 0 on the others (all 0 before the first check)."""
        for each in SOURCE_STATES:
            self.source_state.labels(name, each).set(1 if each == state else 0)

    def observe(self, outcome: Outcome, now: float) -> None:
        self.checks.labels(outcome.source, outcome.result).inc()
        if outcome.failed:
            self.failures.labels(outcome.source).inc()
        elif outcome.result != "skipped":
            self.last_success.labels(outcome.source).set(now)
        if outcome.all_changes:
            self.changes.labels(outcome.source).inc(outcome.all_changes)

    def set_notifications(self, counts: Mapping[str, int]) -> None:
        """The outbox's rows per state (watcher.delivery.log.outbox_counts)."""
        for state in NOTIFICATION_STATES:
            self.notifications.labels(state).set(counts.get(state, 0))


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(
    metrics: Metrics, port: int, alive: Callable[[], bool], host: str = "127.0.0.1"
) -> WSGIServer:
    """Serve /metrics and /healthz (200 while ``alive()``) on a daemon thread."""
    prometheus = make_wsgi_app(metrics.registry)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok = alive()
            start_response(
                "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")]
            )
            return [b"ok\n" if ok else b"scheduler not running\n"]
        return prometheus(environ, start_response)  # type: ignore[no-any-return]

    server = make_server(host, port, app, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
    return server
