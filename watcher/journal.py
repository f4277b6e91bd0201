"""The journal: what the daemon (and, when asked, a one-shot command) did, one line per event.

Events go to the logger ``watcher.journal`` with their facts as structured fields: one line
per check (source, result, snapshot, changes), per change set queued, per delivery (sent,
retried, dead) and per quarantine. ``configure`` sets up stderr logging for the command line:
text lines, or one JSON object per line (``--log-format json``) for log shippers; every line
goes through the project's one redactor (watcher.storage.dialect.redact: the channels'
secrets and the database URL's password) on its way out, tracebacks included.

Levels: ``watcher run`` writes the journal (INFO) by default. The other commands print their
own report, so they log only warnings unless ``-v`` or ``--log-format json`` asks for the
journal. Each ``-v`` goes one step further: the journal, then watcher's DEBUG detail, then the
libraries' own loggers (httpx, httpcore, apscheduler, sqlalchemy), which otherwise stay at
WARNING. Light on purpose: a cron ``watcher check`` imports this module.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from watcher.storage.dialect import redact

if TYPE_CHECKING:
    from watcher.domain.outcome import Outcome

log = logging.getLogger("watcher.journal")

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A LogRecord's own attributes; anything else on a record came from ``extra``.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

_database_url: str | None = None


def hide_database_url(url: str) -> None:
    """Mask this URL's password in every line written from now on."""
    global _database_url
    _database_url = url


def _clean(text: str) -> str:
    return redact(text, url=_database_url)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``, secrets removed."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return _clean(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the event's fields, and the
    traceback as ``exception`` when there is one; secrets removed from every string."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # Each value cleaned before encoding: a secret with a quote in it is still found.
        clean = {
            k: _clean(v) if isinstance(v, str) else v if _plain(v) else _clean(str(v))
            for k, v in entry.items()
        }
        return json.dumps(clean, ensure_ascii=False)


def _plain(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is written (click's test runner and
    pytest swap it), and lets through what the command's verbosity asks for."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step = step

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR:
            return True
        if record.name == log.name:
            return self.step >= 1
        if record.name == "watcher" or record.name.startswith("watcher."):
            floor = {0: logging.WARNING, 1: logging.INFO}.get(self.step, logging.DEBUG)
            return record.levelno >= floor
        return record.levelno >= logging.WARNING or self.step >= 3


def configure(verbosity: int, fmt: LogFormat, *, daemon: bool) -> None:
    """Log to stderr what the command and ``-v`` count ask for (see the module doc).

    The choice is made by our handler. Logger levels are only ever lowered, enough for the
    records asked for to be made, so someone else's capture (pytest's) keeps what it set.
    """
    step = verbosity + (1 if daemon else 0)
    if fmt == "json":
        step = max(step, 1)  # asking for JSON lines is asking for the journal
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(old)
    handler = _Stderr(step)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    wanted = {0: logging.WARNING, 1: logging.INFO}.get(step, logging.DEBUG)
    ours = logging.getLogger("watcher")
    if ours.getEffectiveLevel() > wanted:
        ours.setLevel(wanted)
    if step >= 3 and root.getEffectiveLevel() > logging.DEBUG:
        root.setLevel(logging.DEBUG)


# --- events -----------------------------------------------------------------------------


def check(outcome: Outcome) -> None:
    """The line of one check, then one per change set it queued and one if it quarantined;
    a held snapshot the check accepted on the way comes first, with its own lines."""
    for held in outcome.settled:
        check(held)
    o = outcome
    fields: dict[str, Any] = {
        "event": "check",
        "source": o.source,
        "result": o.result,
        "snapshot": o.snapshot_id,
        "changes": o.changes,
        "notifications": o.notifications,
    }
    if o.failed:
        log.warning("check %s: failed: %s", o.source, o.error, extra={**fields, "error": o.error})
        return
    if o.result == "skipped":
        log.info("check %s: skipped: %s", o.source, o.detail, extra=fields)
        return
    snapshot = f", snapshot {o.snapshot_id}" if o.snapshot_id is not None else ""
    detail = f" ({o.detail})" if o.detail and o.result != "quarantined" else ""
    log.info(
        "check %s: %s%s, %d change%s%s",
        o.source,
        o.result,
        snapshot,
        o.changes,
        "" if o.changes == 1 else "s",
        detail,
        extra=fields,
    )
    _queued(o)
    if o.result == "quarantined":
        _quarantine(o)


def _queued(o: Outcome) -> None:
    """One line per route a check's change set was queued for."""
    for route in o.queued_routes:
        log.info(
            "change set %s %s → %s queued for route %s",
            o.source,
            o.from_snapshot_id if o.from_snapshot_id is not None else "(none)",
            o.snapshot_id,
            route,
            extra={
                "event": "queued",
                "source": o.source,
                "route": route,
                "from_snapshot": o.from_snapshot_id,
                "snapshot": o.snapshot_id,
                "changes": o.changes,
            },
        )


def _quarantine(o: Outcome) -> None:
    """The warning of a page the guard holds back, and what decides it."""
    n = o.snapshot_id
    # Said once: a held page seen again already says what decides it.
    decides = ""
    if n is not None and not o.rejected and "decides it" not in o.detail:
        from watcher.domain.guard import operator_decides  # only for a held page

        decides = f"; {operator_decides(n)}"
    log.warning(
        "quarantine %s: snapshot %s held back: %s%s",
        o.source,
        o.snapshot_id,
        o.detail,
        decides,
        extra={
            "event": "quarantine",
            "source": o.source,
            "snapshot": o.snapshot_id,
            "reason": o.detail,
        },
    )


def delivery(
    line: str,
    *,
    notification: int,
    route: str,
    kind: str,
    outcome: str,
    attempts: int,
    error: str | None,
    retry_at: str | None = None,
) -> None:
    """One attempt at one notification; ``line`` is the one `watcher dispatch` prints."""
    log.log(
        logging.WARNING if outcome == "dead" else logging.INFO,
        "%s",
        line,
        extra={
            "event": "delivery",
            "notification": notification,
            "route": route,
            "kind": kind,
            "outcome": outcome,
            "attempts": attempts,
            "error": error,
            "retry_at": retry_at,
        },
    )
