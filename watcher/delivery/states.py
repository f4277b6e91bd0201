"""The states of an outbox row (see ``watcher.delivery.outbox`` for the machine), in a module
light enough for the command line to name them at start-up."""

from __future__ import annotations

# ``withdrawn``: a waiting notification `watcher reparse` took back because the page, read
# again, has none of the changes its route wants. Final like ``sent``: never revived by
# `notifications retry`, never counted as a failed delivery.
STATES = ("pending", "sending", "sent", "dead", "withdrawn")
