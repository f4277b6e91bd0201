"""The daemon (``watcher run``): APScheduler 3 jobs for checks, delivery and staleness.

Checks of a source are aligned to wall-clock multiples of its interval, so several daemons on
one database tick together and the lease plus ``min_gap`` leave exactly one fetch per tick.
The database, not the scheduler, is the memory: after a restart a source that is overdue is
checked once at start (not once per missed tick) and then on its regular ticks. What the
daemon only reads (the last checks it schedules from, the states and counts of /metrics) it
reads in read-only sessions, which a busy writer does not hold up.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import httpx
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
    JobExecutionEvent,
)
from apscheduler.executors.pool import BasePoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from watcher.audit.status import last_times, source_states
from watcher.cli.metrics import Metrics
from watcher.config import Settings, SourceConfig, cron_trigger
from watcher.domain.outcome import Outcome
from watcher.domain.times import utcnow
from watcher.ingest.check import CheckOptions, run_checks
from watcher.ingest.fetch import make_client
from watcher.ingest.health import sweep_staleness
from watcher.storage.engine import read_session_factory, session_factory

log = logging.getLogger(__name__)

STALENESS_EVERY = 300  # seconds between staleness sweeps


def aligned_start(interval: int, now: float) -> datetime:
    """The last wall-clock multiple of ``interval`` seconds: every daemon picks the same one."""
    return datetime.fromtimestamp(math.floor(now / interval) * interval, UTC)


class Threads(BasePoolExecutor):  # type: ignore[misc]  # APScheduler 3 has no types
    """APScheduler's thread pool executor, on a pool its scheduler keeps to wait for."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        super().__init__(pool)


class Scheduler(BlockingScheduler):  # type: ignore[misc]  # APScheduler 3 has no types
    """APScheduler's blocking scheduler, to which a signal handler hands work to do between
    two rounds of its job processing, and whose stop waits for running jobs outside its
    locks.

    A handler runs on the main thread, which is this loop's, and may land inside that
    processing, under the job store's reentrant lock: a shutdown from there emptied the store
    under it, whose next write raised JobLookupError, and the daemon exited 1 after a clean
    check. Even setting an Event from a handler can deadlock on the Event's own lock. So a
    handler only appends to a deque (atomic, no lock), and the loop polls it.

    ``shutdown(wait=True)`` waits for running jobs holding the job store's lock, which a
    check that queued a notification asks for (to add the dispatch-now job): a stop during
    such a check never ended. So ``stop`` shuts down without waiting, and the loop, once
    out, waits for the jobs' threads with no lock held."""

    POLL = 0.25  # seconds: how soon a signal's work is done when nothing else wakes the loop
    WORKERS = 10  # APScheduler's default

    def __init__(self, **options: Any) -> None:
        self.pool = ThreadPoolExecutor(self.WORKERS, thread_name_prefix="watcher-job")
        self.threads = Threads(self.pool)
        super().__init__(executors={"default": self.threads}, **options)
        self._asked: deque[Callable[[], object]] = deque()

    def ask(self, action: Callable[[], object]) -> None:
        """Have the loop's thread run ``action`` as soon as it is between two rounds."""
        self._asked.append(action)

    def stop(self) -> None:
        """Take up no more work; the loop ends, then waits for the running jobs."""
        self.shutdown(wait=False)

    def _main_loop(self) -> None:
        try:
            self._rounds()
        finally:  # whatever ended the loop, the running jobs end before the caller goes on
            self.pool.shutdown(wait=True)

    def _rounds(self) -> None:
        due = time.monotonic()
        while self.state != STATE_STOPPED:
            woken = self._event.wait(max(0.0, min(due - time.monotonic(), self.POLL)))
            if woken:  # cleared only then: a wakeup landing after a timeout is kept
                self._event.clear()
            while self._asked and self.state != STATE_STOPPED:
                self._run(self._asked.popleft())
            if self.state == STATE_STOPPED:
                break
            if woken or time.monotonic() >= due:
                wait = self._process_jobs()  # None while paused: until woken
                due = time.monotonic() + (wait if wait is not None else math.inf)

    @staticmethod
    def _run(action: Callable[[], object]) -> None:
        try:
            action()
        except Exception:  # a failed reload, say, must not end the daemon
            log.exception("the daemon could not do what a signal asked")


class Daemon:
    """Owns the scheduler, the HTTP client and the reload/stop signal handling."""

    def __init__(
        self,
        engine: Engine,
        load_settings: Callable[[], Settings],
        *,
        metrics: Metrics | None = None,
        dispatch: Callable[[], Any] | None = None,
        dispatch_every: int = 30,
    ) -> None:
        self.engine = engine
        self.load_settings = load_settings
        self.settings = load_settings()
        self.metrics = metrics
        self.dispatch = dispatch
        self.dispatch_every = dispatch_every
        self.client: httpx.Client = make_client()
        self.scheduler = Scheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.scheduler.add_listener(self._on_busy, EVENT_JOB_MAX_INSTANCES)
        self.scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        self._stopping = threading.Event()
        self._stop_signal: int | None = None

    # --- jobs -------------------------------------------------------------------------

    def check(self, cfg: SourceConfig) -> Outcome:
        interval = cfg.interval_seconds if cfg.cron is None else 60
        options = CheckOptions(
            min_gap=interval / 2,
            # On shutdown, backoff waits end at once so the check finishes within seconds.
            sleep=self._stopping.wait,
        )
        (outcome,) = run_checks(
            self.engine, [cfg], self.settings.config.routes, client=self.client, options=options
        )
        # run_checks told the journal; here the metrics follow.
        if self.metrics is not None:
            self.metrics.observe(outcome, time.time())
            self.refresh_metrics(outbox=outcome.queued > 0, only=cfg.name)
        if outcome.queued and self.dispatch is not None:
            if self.scheduler.running:
                self.scheduler.add_job(self.deliver, id="dispatch-now", replace_existing=True)
            else:  # stopping: the outbox keeps them, and the next start delivers them
                log.info("%s: notifications left in the outbox for the next start", cfg.name)
        return outcome

    def deliver(self) -> None:
        if self.dispatch is not None:
            self.dispatch()
            self.refresh_metrics(states=False)

    def refresh_metrics(
        self, *, states: bool = True, outbox: bool = True, only: str | None = None
    ) -> None:
        """Read the sources' states (or one source's) and the outbox's counts into /metrics'
        gauges."""
        if self.metrics is None:
            return
        from watcher.delivery.outbox import outbox_counts

        try:
            with read_session_factory(self.engine)() as session:
                if states:
                    config = self.settings.config
                    for name, state in source_states(session, config, only=only).items():
                        self.metrics.set_source_state(name, state)
                if outbox:
                    self.metrics.set_notifications(outbox_counts(session))
        except Exception:
            log.exception("could not read the sources' states and the outbox for /metrics")

    def _add_sources_to_metrics(self, previous: Sequence[str] = ()) -> None:
        if self.metrics is None:
            return
        names = [cfg.name for cfg in self.settings.config.sources]
        for name in set(previous) - set(names):
            self.metrics.drop_source(name)
        try:
            with read_session_factory(self.engine)() as session:
                successes = {name: times[1] for name, times in last_times(session, names).items()}
        except Exception:
            log.exception("could not read the sources for /metrics")
            successes = {}
        for name in names:
            success = successes.get(name)
            self.metrics.add_source(name, success.timestamp() if success else None)
        self.refresh_metrics()

    def sweep_staleness(self) -> None:
        for name in sweep_staleness(session_factory(self.engine), self.settings.config):
            log.warning("source %s is stale", name)
        self.refresh_metrics(outbox=False)

    # --- scheduling -------------------------------------------------------------------

    def schedule_sources(self) -> None:
        now = time.time()
        names = [cfg.name for cfg in self.settings.config.sources]
        with read_session_factory(self.engine)() as session:
            last_checks = {name: times[0] for name, times in last_times(session, names).items()}
        for cfg in self.settings.config.sources:
            job_id = f"check:{cfg.name}"
            if cfg.cron is not None:
                trigger: Any = cron_trigger(cfg.cron)
                grace = 60
                interval = 3600
            else:
                interval = cfg.interval_seconds
                trigger = IntervalTrigger(
                    seconds=interval,
                    start_date=aligned_start(interval, now),
                    timezone=UTC,
                    jitter=min(interval * 0.1, 60),
                )
                # A tick that fires late by up to half an interval is still worth running.
                grace = max(1, interval // 2)
            self.scheduler.add_job(
                self.check,
                trigger,
                args=[cfg],
                id=job_id,
                name=job_id,
                replace_existing=True,
                misfire_grace_time=grace,
            )
            last = last_checks.get(cfg.name)
            overdue = last is None or (utcnow() - last).total_seconds() >= interval
            log.debug(
                "scheduled %s: %s; last checked %s%s",
                cfg.name,
                f"cron {cfg.cron}" if cfg.cron else f"every {interval}s",
                last.isoformat() if last else "never",
                ", overdue: checking now" if overdue else "",
            )
            if overdue:
                # Overdue after downtime: one catch-up check now, not one per missed tick.
                self.scheduler.add_job(
                    self.check,
                    args=[cfg],
                    id=f"catch-up:{cfg.name}",
                    replace_existing=True,
                    next_run_time=datetime.now(UTC) + timedelta(milliseconds=10),
                )

    def start(self) -> None:
        # First: the handlers only queue work for the loop, which runs it once it starts, so
        # a stop or reload during the reads below is not lost (nor the default action).
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, self._on_reload)
        self.schedule_sources()
        self._add_sources_to_metrics()
        if self.dispatch is not None:
            self.scheduler.add_job(
                self.deliver, IntervalTrigger(seconds=self.dispatch_every), id="dispatch"
            )
        self.scheduler.add_job(
            self.sweep_staleness, IntervalTrigger(seconds=STALENESS_EVERY), id="staleness"
        )
        names = ", ".join(s.name for s in self.settings.config.sources) or "none"
        log.info("watcher daemon started; sources: %s", names)
        try:
            self.scheduler.start()
        finally:
            self.client.close()
            log.info("watcher daemon stopped")

    @property
    def alive(self) -> bool:
        return bool(self.scheduler.running) and not self._stopping.is_set()

    # --- signals and listeners --------------------------------------------------------

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        # Only a plain attribute and the deque here: a log line or Event.set in a handler
        # can deadlock on a lock the interrupted code holds.
        if self._stop_signal is None:
            self._stop_signal = signum
            self.scheduler.ask(self._stop)

    def _stop(self) -> None:
        log.info("signal %s: finishing the running check, then stopping", self._stop_signal)
        self._stopping.set()  # ends a check's backoff waits at once
        # The running check finishes its transaction before the process exits: the
        # scheduler's loop waits for it once it is out.
        self.scheduler.stop()

    def _on_reload(self, _signum: int, _frame: FrameType | None) -> None:
        # Reload on a scheduler thread, not inside the signal handler.
        self.scheduler.ask(
            lambda: self.scheduler.add_job(self.reload, id="reload", replace_existing=True)
        )

    def reload(self) -> None:
        try:
            settings = self.load_settings()
        except Exception as exc:  # noqa: BLE001 - a bad edit must not kill a running daemon
            log.error("config reload failed, keeping the old config: %s", exc)
            return
        previous = [cfg.name for cfg in self.settings.config.sources]
        self.settings = settings
        for job in self.scheduler.get_jobs():
            if job.id.startswith(("check:", "catch-up:")):
                with suppress(JobLookupError):  # a stop emptied the store meanwhile
                    job.remove()
        self.schedule_sources()
        self._add_sources_to_metrics(previous)
        log.info("config reloaded: %d source(s)", len(settings.config.sources))

    def _on_missed(self, event: JobEvent) -> None:
        log.warning("missed run of %s (was due %s)", event.job_id, event.scheduled_run_time)

    def _on_busy(self, event: JobEvent) -> None:
        log.warning("skipped a run of %s: the previous one is still going", event.job_id)

    def _on_error(self, event: JobExecutionEvent) -> None:
        log.error("job %s raised %r", event.job_id, event.exception)
