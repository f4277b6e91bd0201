"""The states of an outbox row (see ``watcher.delivery.outbox`` for the machine), in a module
light enough for the command line to name them at start-up."""

from __future__ import annotations

STATES = ("pending", "sending", "sent", "dead")
