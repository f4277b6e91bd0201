"""Prometheus metrics and a /healthz endpoint for the daemon (``watcher run --metrics-port``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app

from watcher.outcome import Outcome


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

    def observe(self, outcome: Outcome, now: float) -> None:
        self.checks.labels(outcome.source, outcome.result).inc()
        if outcome.failed:
            self.failures.labels(outcome.source).inc()
        elif outcome.result != "skipped":
            self.last_success.labels(outcome.source).set(now)
        if outcome.changes:
            self.changes.labels(outcome.source).inc(outcome.changes)

    def set_notifications(self, counts: dict[str, int]) -> None:
        for state in ("pending", "sent", "dead"):
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
