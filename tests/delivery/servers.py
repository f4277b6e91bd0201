"""Real local servers for the notification tests: a Slack-like HTTP server and SMTP servers.

``SlackServer`` imitates slack-sdk's own tests/slack_sdk/webhook/mock_web_api_server.py: a
real ThreadingHTTPServer on a free port whose path picks the behaviour. The first path
segment is the behaviour; a path ending in ``chat.postMessage`` answers in the Web API's
JSON shape, anything else like an incoming webhook (``ok`` in plain text).

===================  ==========================================================
behaviour            answer
===================  ==========================================================
``ok``               200 ``ok`` / ``{"ok": true}``
``error``            500
``flaky-N``          500 for the first N requests on that path, then as ``ok``
``nth-N``            500 for the N-th request on that path only, else as ``ok``
``ratelimited-S``    429 with ``Retry-After: S`` the first time, then as ``ok``
``forbidden``        403 ``invalid_token`` / 200 ``{"ok": false, "error": "invalid_auth"}``
``notfound``         404 ``no_service`` / 200 ``channel_not_found``
``echo``             404 ``Cannot POST <the request path>``, as Express says it
``badbody``          200 with a body that is not ``ok``
``hang``             accepts the request and never answers (until the server stops)
``hold``             the first request is recorded, then held until ``release()``;
                     ``held`` is set meanwhile. Later requests answer as ``ok``
``slow-MS``          recorded at once, answered as ``ok`` after MS milliseconds
===================  ==========================================================

``SmtpServer`` is aiosmtpd's threaded Controller on a free port, recording each accepted
message, refusing chosen recipients with 550 and deferring DATA with 451 on request;
``tls=True`` makes it offer (and require) STARTTLS with a self-signed certificate made in
the test, and ``password`` makes it require AUTH.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    path: str
    behaviour: str
    body: dict[str, Any]
    headers: dict[str, str]
    at: float  # time.monotonic()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: SlackServer


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body: dict[str, Any] = json.loads(raw) if raw else {}
        except ValueError:
            body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        behaviour = self.path.strip("/").split("/")[0]
        api = self.path.endswith("chat.postMessage")
        with owner.lock:
            count = owner.counts.get(self.path, 0)
            owner.counts[self.path] = count + 1
            owner.requests.append(
                Received(self.path, behaviour, body, dict(self.headers), time.monotonic())
            )
        owner.arrived.set()
        self._answer(owner, behaviour, count, api)

    def _answer(self, owner: SlackServer, behaviour: str, count: int, api: bool) -> None:
        name, _, arg = behaviour.partition("-")
        if name == "hang":
            owner.stopping.wait(60)
            return
        if name == "slow":
            time.sleep(int(arg or 0) / 1000)  # as a far-away Slack takes its time to answer
        if name == "hold" and count == 0:
            owner.held.set()
            owner.release_event.wait(60)
            self._ok(api)
            return
        failing = (name == "flaky" and count < int(arg or 1)) or (
            name == "nth" and count + 1 == int(arg or 1)
        )
        if name == "error" or failing:
            self._send(500, {"ok": False, "error": "internal_error"} if api else "server_error")
        elif name == "ratelimited" and count == 0:
            body: Any = {"ok": False, "error": "ratelimited"} if api else "rate_limited"
            self._send(429, body, {"Retry-After": arg or "1"})
        elif name == "forbidden":
            if api:
                self._send(200, {"ok": False, "error": "invalid_auth"})
            else:
                self._send(403, "invalid_token")
        elif name == "notfound":
            if api:
                self._send(200, {"ok": False, "error": "channel_not_found"})
            else:
                self._send(404, "no_service")
        elif name == "echo":
            self._send(404, f"Cannot POST {self.path}")
        elif name == "badbody":
            self._send(200, {"ok": "maybe"} if api else "not quite")
        else:
            self._ok(api)

    def _ok(self, api: bool) -> None:
        self._send(200, {"ok": True, "channel": "C123", "ts": "1636416000.000100"} if api else "ok")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = (json.dumps(body) if not isinstance(body, str) else body).encode()
        try:
            self.send_response(status)
            ctype = "text/html" if isinstance(body, str) else "application/json; charset=utf-8"
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (a timeout test); nothing to answer

    def log_message(self, format: str, *args: object) -> None:
        pass


class SlackServer:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.held = threading.Event()
        self.arrived = threading.Event()
        self.release_event = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> SlackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.release_event.set()
        self._server.shutdown()
        self._server.server_close()

    def release(self) -> None:
        self.release_event.set()

    def webhook(self, behaviour: str, secret: str = "T0000/B0000/XXXXXXXX") -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}/services/{secret}"

    def api(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}/api/"

    def received(self, behaviour: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if behaviour is None or r.behaviour == behaviour]


# --- SMTP -------------------------------------------------------------------------------


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class SmtpHandler:
    refuse: set[str] = field(default_factory=set)  # 550 at RCPT
    defer_rcpt: set[str] = field(default_factory=set)  # 451 at RCPT, once per address
    defer_data: int = 0  # answer DATA with 451 this many times
    mails: list[Mail] = field(default_factory=list)
    attempts: list[float] = field(default_factory=list)  # time.monotonic() of each DATA

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 <" + address + ">: no such user"
        if address in self.defer_rcpt:
            self.defer_rcpt.discard(address)
            return "451 4.2.0 <" + address + ">: mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.attempts.append(time.monotonic())
        if self.defer_data > 0:
            self.defer_data -= 1
            return "451 4.3.0 Temporary local problem, try again later"
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Message accepted for delivery"


class _FreePortController(Controller):
    """aiosmtpd's Controller bound to port 0: learn the port before the readiness probe."""

    def _trigger_server(self) -> None:
        server: Any = self.server
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem).

    With the `cryptography` package when it is installed, else with the openssl command.
    """
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        _certificate_with_cryptography(cert, key)
    except ImportError:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", str(key), "-out", str(cert), "-days", "2",
                "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip
    return cert, key


def _certificate_with_cryptography(cert_path: Path, key_path: Path) -> None:
    import datetime
    import ipaddress

    from cryptography import x509  # type: ignore[import-not-found, unused-ignore]
    from cryptography.hazmat.primitives import hashes, serialization  # type: ignore[import-not-found, unused-ignore]
    from cryptography.hazmat.primitives.asymmetric import ec  # type: ignore[import-not-found, unused-ignore]
    from cryptography.x509.oid import NameOID  # type: ignore[import-not-found, unused-ignore]

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class SmtpServer:
    def __init__(
        self,
        handler: SmtpHandler | None = None,
        *,
        tls: tuple[Path, Path] | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.handler = handler or SmtpHandler()
        self.logins: list[tuple[str, bool]] = []
        kwargs: dict[str, Any] = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            kwargs.update(tls_context=context, require_starttls=True)
        if password is not None:
            kwargs.update(
                authenticator=self._authenticator(username or "", password),
                auth_required=True,
                auth_require_tls=tls is not None,
            )
        self.controller = _FreePortController(self.handler, hostname="127.0.0.1", port=0, **kwargs)

    def _authenticator(self, username: str, password: str) -> Any:
        def check(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> AuthResult:
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == username
                and auth_data.password.decode() == password
            )
            self.logins.append((mechanism, ok))
            return AuthResult(success=ok, handled=False)

        return check

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails


class SilentServer:
    """Accepts TCP connections and never says a word: an SMTP server that hangs."""

    def __init__(self) -> None:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.connections = 0
        self._open: list[Any] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        self._sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._open.append(conn)

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._open:
            conn.close()
        self._sock.close()
