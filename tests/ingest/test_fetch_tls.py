"""fetch over https against a real local TLS server with a self-signed certificate: trusted
when the environment says so (``SSL_CERT_FILE``, as httpx reads it), refused otherwise, and
reached from an http:// page that redirects there, on one client."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import EN_CHAIN
from tests.delivery.servers import make_certificate
from watcher.ingest.fetch import FetchError, FetchPolicy, FetchResult, fetch, make_client

PAGE = EN_CHAIN[1].read_bytes()
ONCE = FetchPolicy(attempts=1, read_timeout=10, deadline=20)


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    cert, _ = make_certificate(tmp_path)
    return cert


@pytest.fixture
def tls_server(certificate: Path) -> Iterator[HTTPServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, certificate.with_name("key.pem"))
    server = HTTPServer(host="localhost", ssl_context=context)
    server.start()
    server.expect_request("/page.md").respond_with_data(PAGE, content_type="text/plain")
    yield server
    server.clear()
    server.stop()


def test_a_certificate_the_environment_trusts_is_accepted(
    tls_server: HTTPServer, certificate: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    with make_client(ONCE) as client:
        result = fetch(client, tls_server.url_for("/page.md"), "markdown", policy=ONCE)
    assert isinstance(result, FetchResult) and result.body == PAGE


def test_a_certificate_nobody_trusts_is_refused(
    tls_server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with make_client(ONCE) as client:
        result = fetch(client, tls_server.url_for("/page.md"), "markdown", policy=ONCE)
    assert isinstance(result, FetchError)
    assert "CERTIFICATE_VERIFY_FAILED" in result.message or "certificate" in result.message


def test_an_http_page_redirecting_to_https_is_fetched_and_verified(
    httpserver: HTTPServer,
    tls_server: HTTPServer,
    certificate: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    target = tls_server.url_for("/page.md")
    httpserver.expect_request("/old.md").respond_with_data(
        "", status=301, headers={"Location": target}
    )
    with make_client(ONCE) as client:
        plain = fetch(client, httpserver.url_for("/old.md"), "markdown", policy=ONCE)
        again = fetch(client, httpserver.url_for("/old.md"), "markdown", policy=ONCE)
    assert isinstance(plain, FetchResult) and plain.body == PAGE and plain.url == target
    assert [a.status_code for a in plain.attempts] == [301, 200]
    assert isinstance(again, FetchResult) and again.body == PAGE
