"""Microsoft Teams through a Workflows webhook ("When a Teams webhook request is received").

The message's Adaptive Card parts (``render.teams``) are posted in order, each confirmed
before the next, with the parts mechanism of the Slack channel (``slack._Parts``): the same
delivery-unit names, so a retry posts only the parts Teams did not accept. A Workflows flow
answers 202 when it has accepted a request (200 from some tenants): both count as sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from watcher.delivery.channels import SendResult
from watcher.delivery.channels.http import SecretPost
from watcher.delivery.channels.slack import _Parts
from watcher.delivery.render.message import Message
from watcher.delivery.render.teams import card_bytes

ACCEPTED = frozenset({200, 202})


class TeamsWorkflow(_Parts):
    """A Workflows webhook. Its URL is the secret: it never leaves this object."""

    def __init__(self, url: str, *, timeout: float, cafile: str | None = None) -> None:
        self._post = SecretPost(
            url,
            timeout=timeout,
            accepted=ACCEPTED.__contains__,
            cafile=cafile,
            what="the Teams webhook URL",
        )
        self.secrets = self._post.secrets

    def parts(self, message: Message) -> Sequence[dict[str, Any]]:
        return message.teams

    def post(self, payload: dict[str, Any]) -> SendResult:
        return self._post.post(card_bytes(payload), {})
