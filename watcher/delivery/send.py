"""Sending one rendered message on its route's channel, every failure a ``SendResult``: the
dispatcher never sees an exception from a channel, only the database's own (raised by the
recording of a confirmed unit, ``Message.confirm``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from watcher.delivery.channels import MissingSecret, SendResult, build_channel, redact
from watcher.delivery.policy import Run
from watcher.delivery.render import Message
from watcher.delivery.settle import ClaimLost

if TYPE_CHECKING:
    from watcher.config import RouteConfig

# The outbox logs under one name, whichever of its stages speaks.
log = logging.getLogger("watcher.delivery.outbox")


def send(run: Run, route: RouteConfig, message: Message, notification_id: int) -> SendResult:
    try:
        channel = build_channel(route, run.environ, stdout=run.stdout)
    except MissingSecret as exc:
        # Fixing the environment should not lose the message: retry, not dead.
        return SendResult("retry", str(exc))
    try:
        return channel.send(message)
    except ClaimLost as exc:
        # Our lease ran out mid-send and another dispatcher has the row: what it sends counts.
        log.warning("%s; this run stops sending it", exc)
        return SendResult("retry", str(exc))
    except SQLAlchemyError:
        # Recording a unit the channel confirmed failed (a full disk, a database gone): the
        # run stops here rather than send more that the outbox could not remember.
        raise
    except Exception as exc:  # noqa: BLE001 - an unforeseen client error is one failed try
        # This route's own secrets whatever their length (the global registry skips very
        # short values), so a 4-character SMTP password is scrubbed here too.
        mine = [run.environ.get(name, "") for _, name in route.secret_envs()]
        error = redact(f"{type(exc).__name__}: {exc}", mine)
        log.error(
            "notification %s on route %s: unexpected error: %s", notification_id, route.name, error
        )
        return SendResult("retry", error)
