"""The stdout channel: prints the plain-text rendering, for cron mail, logs and trying out."""

from __future__ import annotations

from typing import TextIO

from watcher.delivery.channels import SendResult
from watcher.delivery.render.message import Message


class StdoutChannel:
    def __init__(self, out: TextIO) -> None:
        self._out = out

    def send(self, message: Message) -> SendResult:
        try:
            self._out.write(message.text)
            if not message.text.endswith("\n"):
                self._out.write("\n")
            self._out.flush()
        except OSError as exc:  # a closed pipe: the reader may be back next time
            return SendResult("retry", f"{type(exc).__name__}: {exc}")
        return SendResult("sent")
