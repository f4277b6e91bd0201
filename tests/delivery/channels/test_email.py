"""Email delivery against real local SMTP servers (aiosmtpd): the SMTP half of the fault matrix.

Plain SMTP, STARTTLS with a self-signed certificate made in the test and AUTH, 451 and 550
answers, partial refusal, and a server that accepts the connection and never speaks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.delivery.conftest import FAST, config, route, row, seed, seed_small
from tests.delivery.servers import SilentServer, SlackServer, SmtpHandler, SmtpServer
from watcher.config import RouteConfig
from watcher.delivery.outbox import DispatchPolicy, dispatch
from watcher.ingest.importer import ImportItem, import_pages
from watcher.storage.models import Notification


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: what an SMTP server answers does not depend on the database, and the
    outbox's behaviour on PostgreSQL is covered by test_cli, test_ops and test_slack."""
    return f"sqlite:///{tmp_path / 'watcher.db'}"


def email_route(port: int, *to: str, **settings: object) -> RouteConfig:
    return route(
        "mail",
        "email",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_security=settings.pop("smtp_security", "none"),
        to=list(to or ("team@example.com",)),
        **{"from": "watcher@example.com"},
        **settings,
    )


def test_email_is_multipart_alternative_with_a_subject_naming_source_and_counts(
    sessions: sessionmaker[Session], smtp: SmtpServer, corpus: Path
) -> None:
    cfg = config(email_route(smtp.port, "a@example.com", "b@example.com"))
    [nid] = seed(sessions, cfg, corpus)
    report = dispatch(sessions, cfg, environ={}, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    [mail] = smtp.mails
    assert mail.mail_from == "watcher@example.com"
    assert mail.rcpt_tos == ["a@example.com", "b@example.com"]
    msg = mail.message
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"] == (
        "[watcher] azure-managed-identities: 25 changes (21 promotions, 4 added)"
    )
    assert msg["Message-ID"].endswith("@example.com>")
    assert msg["Auto-Submitted"] == "auto-generated"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Azure Kubernetes Service (AKS)" in text and "Not available → Available" in text
    assert "Azure Kubernetes Service (AKS)" in html and "<table" in html
    n = row(sessions, nid)
    assert n.state == "sent" and n.deliveries == {"a@example.com": "sent", "b@example.com": "sent"}


def test_starttls_with_authentication(
    sessions: sessionmaker[Session], certificate: tuple[Path, Path]
) -> None:
    server = SmtpServer(tls=certificate, username="watcher", password="pw-0123456789").start()
    try:
        cfg = config(
            email_route(
                server.port,
                smtp_security="starttls",
                smtp_username_env="SMTP_USER",
                smtp_password_env="SMTP_PASSWORD",
            )
        )
        [nid] = seed_small(sessions, cfg)
        env = {
            "SMTP_USER": "watcher",
            "SMTP_PASSWORD": "pw-0123456789",
            "SSL_CERT_FILE": str(certificate[0]),
        }
        report = dispatch(sessions, cfg, environ=env, policy=FAST)
        assert [d.outcome for d in report.deliveries] == ["sent"]
        assert [ok for _, ok in server.logins] == [True]
        assert len(server.mails) == 1
        assert row(sessions, nid).state == "sent"
    finally:
        server.stop()


def test_an_untrusted_certificate_is_dead_not_retried(
    sessions: sessionmaker[Session], certificate: tuple[Path, Path]
) -> None:
    server = SmtpServer(tls=certificate).start()
    try:
        cfg = config(email_route(server.port, smtp_security="starttls"))
        [nid] = seed_small(sessions, cfg)
        report = dispatch(sessions, cfg, environ={}, policy=FAST)  # no SSL_CERT_FILE
        assert report.dead == 1
        assert "certificate" in (row(sessions, nid).last_error or "")
        assert server.mails == []
    finally:
        server.stop()


def test_a_wrong_password_is_dead_and_the_password_is_not_in_the_error(
    sessions: sessionmaker[Session], certificate: tuple[Path, Path]
) -> None:
    server = SmtpServer(tls=certificate, username="watcher", password="right-password").start()
    try:
        cfg = config(
            email_route(
                server.port,
                smtp_security="starttls",
                smtp_username_env="SMTP_USER",
                smtp_password_env="SMTP_PASSWORD",
            )
        )
        [nid] = seed_small(sessions, cfg)
        env = {
            "SMTP_USER": "watcher",
            "SMTP_PASSWORD": "wrong-password-4711",
            "SSL_CERT_FILE": str(certificate[0]),
        }
        report = dispatch(sessions, cfg, environ=env, policy=FAST)
        n = row(sessions, nid)
        assert report.dead == 1 and n.state == "dead" and "535" in (n.last_error or "")
        assert "wrong-password-4711" not in (n.last_error or "")
    finally:
        server.stop()


def test_451_is_retried_later_and_delivered_once(sessions: sessionmaker[Session]) -> None:
    server = SmtpServer(SmtpHandler(defer_data=1)).start()
    try:
        cfg = config(email_route(server.port))
        [nid] = seed_small(sessions, cfg)
        report = dispatch(sessions, cfg, environ={}, policy=DispatchPolicy(linger=0))
        [attempt] = report.deliveries
        assert attempt.outcome == "retry" and "451" in (attempt.error or "")
        n = row(sessions, nid)
        assert n.state == "pending" and n.next_attempt_at is not None
        assert server.mails == []
        # Later, once the backoff is over: delivered, once.
        with sessions.begin() as session:
            session.get_one(Notification, nid).next_attempt_at = None
        report = dispatch(sessions, cfg, environ={}, policy=FAST)
        assert [d.outcome for d in report.deliveries] == ["sent"]
        assert len(server.mails) == 1
        assert (row(sessions, nid).state, row(sessions, nid).attempts) == ("sent", 2)
    finally:
        server.stop()


def test_550_for_one_of_two_recipients_delivers_to_the_other_and_records_the_refusal(
    sessions: sessionmaker[Session],
) -> None:
    server = SmtpServer(SmtpHandler(refuse={"gone@example.com"})).start()
    try:
        cfg = config(email_route(server.port, "gone@example.com", "here@example.com"))
        [nid] = seed_small(sessions, cfg)
        report = dispatch(sessions, cfg, environ={}, policy=FAST)
        assert [d.outcome for d in report.deliveries] == ["sent"]
        [mail] = server.mails
        assert mail.rcpt_tos == ["here@example.com"]
        n = row(sessions, nid)
        assert n.state == "sent"
        assert "gone@example.com" in (n.last_error or "") and "550" in (n.last_error or "")
        assert n.deliveries is not None
        assert n.deliveries["here@example.com"] == "sent"
        assert n.deliveries["gone@example.com"].startswith("refused: 550")
        # Nothing left to do: the refused recipient is not tried again.
        assert dispatch(sessions, cfg, environ={}, policy=FAST).deliveries == []
    finally:
        server.stop()


def test_a_recipient_deferred_with_451_is_retried_alone(sessions: sessionmaker[Session]) -> None:
    server = SmtpServer(SmtpHandler(defer_rcpt={"busy@example.com"})).start()
    try:
        cfg = config(email_route(server.port, "busy@example.com", "here@example.com"))
        [nid] = seed_small(sessions, cfg)
        report = dispatch(sessions, cfg, environ={}, policy=FAST)
        assert [d.outcome for d in report.deliveries] == ["retry", "sent"]
        assert [m.rcpt_tos for m in server.mails] == [["here@example.com"], ["busy@example.com"]]
        n = row(sessions, nid)
        assert n.state == "sent" and n.last_error is None
        assert n.deliveries == {"busy@example.com": "sent", "here@example.com": "sent"}
    finally:
        server.stop()


def test_all_recipients_refused_is_dead(sessions: sessionmaker[Session]) -> None:
    server = SmtpServer(SmtpHandler(refuse={"gone@example.com"})).start()
    try:
        cfg = config(email_route(server.port, "gone@example.com"))
        [nid] = seed_small(sessions, cfg)
        report = dispatch(sessions, cfg, environ={}, policy=FAST)
        assert report.dead == 1
        assert "550" in (row(sessions, nid).last_error or "")
    finally:
        server.stop()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer().start()
    yield server
    server.stop()


def test_a_server_that_never_answers_times_out_and_is_retried(
    sessions: sessionmaker[Session], silent: SilentServer, smtp: SmtpServer
) -> None:
    cfg = config(email_route(silent.port, timeout=0.5))
    [nid] = seed_small(sessions, cfg)
    started = time.monotonic()
    report = dispatch(sessions, cfg, environ={}, policy=DispatchPolicy(linger=0))
    assert time.monotonic() - started < 5
    [attempt] = report.deliveries
    assert attempt.outcome == "retry" and "timed out" in (attempt.error or "").lower()
    assert silent.connections == 1
    # Retried by the next run: here the route now points at a working server.
    cfg = config(email_route(smtp.port, timeout=0.5))
    with sessions.begin() as session:
        session.get_one(Notification, nid).next_attempt_at = None
    report = dispatch(sessions, cfg, environ={}, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent"]
    assert len(smtp.mails) == 1


def test_a_refused_connection_is_retried(sessions: sessionmaker[Session]) -> None:
    server = SmtpServer().start()
    port = server.port
    server.stop()  # nothing listens on the port any more
    cfg = config(email_route(port))
    [nid] = seed_small(sessions, cfg)
    report = dispatch(sessions, cfg, environ={}, policy=DispatchPolicy(linger=0))
    assert [d.outcome for d in report.deliveries] == ["retry"]
    assert "ConnectionRefusedError" in (row(sessions, nid).last_error or "")


def hostile_page(status: str, huge: str) -> bytes:
    """A matrix page whose headings hold Slack markup, HTML, '&' and bytes that are not UTF-8."""
    out = [b"---\ntitle: Hostile <!channel> page\nms.date: 01/28/2021\n---\n\n## Services\n"]
    for i in range(80):
        out.append(
            b"\n### Azure \\<!channel\\> & <@U123> \\<b\\>bold\\</b\\> caf"
            + b"\xe9\xff"
            + f" {i}\n\n| Managed identity type | Azure Government |\n|---|---|\n".encode()
            + f"| System assigned | {huge if i == 0 else status} |\n".encode()
        )
    return b"".join(out)


def test_hostile_page_text_reaches_slack_escaped_and_mail_with_safe_headers(
    sessions: sessionmaker[Session], smtp: SmtpServer, slack: SlackServer, tmp_path: Path
) -> None:
    cfg = config(
        email_route(smtp.port),
        route("team", "slack", webhook_url_env="TEAM_URL"),
    )
    huge = "Available " + "<!here> &amp; " * 7500  # a ~100 KB cell
    pages = []
    for name, status in (("old.md", "Not available"), ("new.md", "Available")):
        path = tmp_path / name
        path.write_bytes(hostile_page(status, huge if status == "Available" else status))
        pages.append(ImportItem(path, path.read_bytes()))
    pages[1] = ImportItem(pages[1].path, pages[1].body, at=datetime(2021, 2, 1, tzinfo=UTC))
    import_pages(sessions, "hostile", pages, routes=cfg.routes, notify=True)
    report = dispatch(sessions, cfg, environ={"TEAM_URL": slack.webhook("ok")}, policy=FAST)
    assert [d.outcome for d in report.deliveries] == ["sent", "sent"]
    posts = slack.received()
    assert len(posts) > 1  # split
    for p in posts:
        assert len(p.body["blocks"]) <= 50
        for block in p.body["blocks"]:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        raw = json.dumps(p.body, ensure_ascii=False)
        assert "<!channel>" not in raw and "<@U123>" not in raw and "<!here>" not in raw
        assert "&lt;!channel&gt;" in raw and "caf\ufffd\ufffd" in raw
    [mail] = smtp.mails
    msg = mail.message
    assert msg["Bcc"] is None and mail.rcpt_tos == ["team@example.com"]
    assert "\n" not in msg["Subject"] and "80 changes" in msg["Subject"]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert len(html) < 200_000  # the 100 KB cell is quoted, not copied whole


def test_display_names_stay_in_the_headers_and_out_of_the_envelope(
    sessions: sessionmaker[Session], smtp: SmtpServer
) -> None:
    r = route(
        "mail",
        "email",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_security="none",
        to=["Platform team <team@example.com>"],
        **{"from": "Watcher <watcher@example.com>"},
    )
    cfg = config(r)
    [nid] = seed_small(sessions, cfg)
    assert [d.outcome for d in dispatch(sessions, cfg, environ={}, policy=FAST).deliveries] == [
        "sent"
    ]
    [mail] = smtp.mails
    assert (mail.mail_from, mail.rcpt_tos) == ("watcher@example.com", ["team@example.com"])
    assert mail.message["From"] == "Watcher <watcher@example.com>"
    assert mail.message["To"] == "Platform team <team@example.com>"
    assert row(sessions, nid).deliveries == {"Platform team <team@example.com>": "sent"}
