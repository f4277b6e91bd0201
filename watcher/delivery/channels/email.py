"""Email delivery with smtplib: one multipart/alternative message (text and HTML) per send.

The message counts as sent for each recipient the server accepted. Recipients are the
delivery units: a recipient refused with a 5xx is recorded and not tried again, one
deferred with a 4xx is tried again later, alone. Every header value is built from
``clean``-ed text (watcher.domain.describe) and set on an ``EmailMessage``, which refuses
CR/LF in headers besides; the Message-ID is derived from the notification's idempotency key
so that the rare duplicate after a crash is recognisable as the same message.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Literal

from watcher.delivery.channels import SendResult, redact
from watcher.delivery.render.message import Message
from watcher.domain.describe import clean

DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int | None
    security: Literal["starttls", "ssl", "none"]
    username: str | None
    password: str | None
    sender: str
    recipients: tuple[str, ...]
    timeout: float
    cafile: str | None = None

    def __repr__(self) -> str:
        # Never show the credentials, whatever prints this object.
        return f"SmtpSettings(host={self.host!r}, port={self.port!r}, security={self.security!r})"


def _domain(address: str) -> str:
    domain = address.rpartition("@")[2].strip(" >")
    return "".join(c for c in domain if c.isalnum() or c in ".-") or "watcher.invalid"


def build_email(message: Message, sender: str, recipients: Sequence[str]) -> EmailMessage:
    """The MIME message: text first, HTML second (clients show the last part they can)."""
    msg = EmailMessage()
    msg["Subject"] = clean(message.subject, 200)
    msg["From"] = clean(sender, 300)
    msg["To"] = ", ".join(clean(r, 300) for r in recipients)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    digest = hashlib.sha256(message.key.encode("utf-8", "replace")).hexdigest()[:32]
    msg["Message-ID"] = f"<{digest}.watcher@{_domain(sender)}>"
    msg["Auto-Submitted"] = "auto-generated"
    # quoted-printable keeps every body line short and 7-bit, whatever the server offers.
    msg.set_content(message.text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(message.html, subtype="html", charset="utf-8", cte="quoted-printable")
    # Headers may run to 998 characters; folding at 78 would move a long subject to its own
    # continuation line, which some clients show with a leading space. The bodies above are
    # already encoded, so this only changes how headers are written.
    msg.policy = policy.default.clone(max_line_length=998)
    return msg


def _bare(address: str) -> str:
    """ "Platform team <team@example.com>" -> "team@example.com"."""
    return parseaddr(address)[1] or address


def _reason(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {clean(text, 200)}".strip()


class EmailChannel:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.secrets = tuple(s for s in (settings.password, settings.username) if s)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.settings.cafile)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        port = s.port or DEFAULT_PORTS[s.security]
        smtp: smtplib.SMTP
        if s.security == "ssl":
            smtp = smtplib.SMTP_SSL(s.host, port, timeout=s.timeout, context=self._context())
        else:
            smtp = smtplib.SMTP(s.host, port, timeout=s.timeout)
        try:
            if s.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if s.username is not None or s.password is not None:
                smtp.login(s.username or "", s.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: Message) -> SendResult:
        s = self.settings
        todo = [r for r in s.recipients if not message.finished(r)]
        if not todo:
            return SendResult("sent")
        try:
            smtp = self._connect()
            try:
                # The envelope wants bare addresses; the headers keep display names.
                refused = smtp.send_message(
                    build_email(message, s.sender, s.recipients),
                    _bare(s.sender),
                    [_bare(r) for r in todo],
                )
            finally:
                # The message is accepted once DATA is answered 250; a QUIT that fails
                # afterwards must not turn a delivery into a failure (and a resend).
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):
                    smtp.close()
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPResponseException as exc:
            # Sender refused, DATA refused, authentication failed, a greeting or HELO error.
            detail = self._redact(f"{type(exc).__name__}: {_reason(exc.smtp_code, exc.smtp_error)}")
            return SendResult("retry" if 400 <= exc.smtp_code < 500 else "dead", detail)
        except smtplib.SMTPNotSupportedError as exc:
            # STARTTLS or AUTH not offered by the server: the route's settings are wrong.
            return SendResult("dead", self._redact(f"SMTPNotSupportedError: {exc}"))
        except ssl.SSLCertVerificationError as exc:
            return SendResult("dead", self._redact(f"TLS certificate not trusted: {exc}"))
        except (smtplib.SMTPException, OSError) as exc:
            # Disconnected, refused, reset, timed out, TLS handshake failures.
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return SendResult("retry", self._redact(reason))
        return self._outcome(todo, refused, message)

    def _outcome(
        self, todo: Sequence[str], refused: dict[str, tuple[int, bytes]], message: Message
    ) -> SendResult:
        deliveries: dict[str, str] = {}
        for rcpt in todo:
            if _bare(rcpt) in refused:
                code, text = refused[_bare(rcpt)]
                state = "deferred" if 400 <= code < 500 else "refused"
                deliveries[rcpt] = f"{state}: {self._redact(_reason(code, text))}"
            else:
                deliveries[rcpt] = "sent"
        # The server's word on each recipient, recorded now (the next attempt skips them).
        message.confirm({r: v for r, v in deliveries.items() if not v.startswith("deferred")})
        deferred = [f"{r} ({v})" for r, v in deliveries.items() if v.startswith("deferred")]
        refusals = [f"{r} ({v})" for r, v in deliveries.items() if v.startswith("refused")]
        # Recipients that accepted it on an earlier attempt count too: the message is sent.
        merged = {**message.delivered, **deliveries}
        accepted = [r for r in self.settings.recipients if merged.get(r) == "sent"]
        if deferred:
            error = "; ".join(["deferred: " + ", ".join(deferred), *refusals])
            return SendResult("retry", error, deliveries=deliveries)
        if refusals and not accepted:
            return SendResult("dead", "; ".join(refusals), deliveries=deliveries)
        return SendResult("sent", "; ".join(refusals) if refusals else None, deliveries=deliveries)

    def _redact(self, text: str) -> str:
        return redact(text, self.secrets)


__all__ = ["DEFAULT_PORTS", "EmailChannel", "SmtpSettings", "build_email"]
