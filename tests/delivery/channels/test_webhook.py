"""The signed webhook against a real HTTPS receiver that verifies each request with the
README's own recipe: the body is the documented schema with the change log's rows, the
webhook-id holds across retries, whsec_ and plain secrets both sign, any 2xx is delivered."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ROOT
from tests.delivery.conftest import FAST, config, route, row, seed
from tests.delivery.servers import WebhookReceiver
from watcher.audit.changes import change_rows
from watcher.delivery.outbox import dispatch

HOOK = route("tooling", "webhook", url_env="HOOK_URL", secret_env="HOOK_SECRET")
WHSEC = "whsec_" + base64.b64encode(b"a 32-byte key for the test hmac.").decode()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'watcher.db'}"


def readme_verify() -> Callable[[str, dict[str, str], bytes], bool]:
    """The `verify` function of README.md's "Signed webhooks" section, exactly as printed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Signed webhooks", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["verify"]  # type: ignore[no-any-return]


def receiver(certificate: tuple[Path, Path], secret: str) -> WebhookReceiver:
    server = WebhookReceiver(certificate, secret, readme_verify())
    server.start()
    return server


def environ(
    server: WebhookReceiver, certificate: tuple[Path, Path], secret: str, path: str
) -> dict[str, str]:
    return {
        "HOOK_URL": server.url(f"{path}/hooks/t0k3n-5ecret-in-the-path"),
        "HOOK_SECRET": secret,
        "SSL_CERT_FILE": str(certificate[0]),
    }


@pytest.mark.parametrize("secret", [WHSEC, "a plain shared secret"], ids=["whsec", "plain"])
def test_a_signed_change_set_verifies_with_the_readme_recipe(
    sessions: sessionmaker[Session], certificate: tuple[Path, Path], corpus: Path, secret: str
) -> None:
    cfg = config(HOOK)
    [nid] = seed(sessions, cfg, corpus)
    server = receiver(certificate, secret)
    try:
        report = dispatch(
            sessions, cfg, environ=environ(server, certificate, secret, "ok"), policy=FAST
        )
    finally:
        server.stop()
    assert [d.outcome for d in report.deliveries] == ["sent"]
    [post] = server.posts
    assert server.verified == [True] and post.status == 204
    body = post.json
    assert (body["schema"], body["version"], body["type"]) == ("watcher.notification", 1, "changes")
    assert body["id"] == post.headers["webhook-id"] == row(sessions, nid).idempotency_key
    assert body["source"]["name"] == "azure-managed-identities"
    assert len(body["to_snapshot"]["sha256"]) == 64 and body["to_snapshot"]["origin"] == "import"
    assert body["from_snapshot"]["sha256"] != body["to_snapshot"]["sha256"]
    # The same rows as `watcher changes --format json`, for the changes this route chose.
    with sessions() as session:
        log = {r["id"]: r for r in change_rows(session)}
    assert body["changes"] and all(c == log[c["id"]] for c in body["changes"])
    assert body["summary"].startswith(f"{len(body['changes'])} changes")


def test_the_webhook_id_holds_across_retries_and_a_tampered_body_fails(
    sessions: sessionmaker[Session], certificate: tuple[Path, Path], corpus: Path
) -> None:
    cfg = config(HOOK)
    seed(sessions, cfg, corpus)
    server = receiver(certificate, WHSEC)
    try:
        report = dispatch(
            sessions, cfg, environ=environ(server, certificate, WHSEC, "fail-2"), policy=FAST
        )
        first = server.posts[0]
        verify = readme_verify()
        tampered = first.body.replace(b'"version":1', b'"version":2')
        assert not verify(WHSEC, {k.lower(): v for k, v in first.headers.items()}, tampered)
        assert not verify("whsec_" + base64.b64encode(b"another key").decode(),
                          {k.lower(): v for k, v in first.headers.items()}, first.body)  # fmt: skip
    finally:
        server.stop()
    assert [d.outcome for d in report.deliveries][-1] == "sent"
    assert [p.status for p in server.posts] == [503, 503, 204]
    assert len({p.headers["webhook-id"] for p in server.posts}) == 1
    assert len({p.body for p in server.posts}) == 1
    assert server.verified == [True, True, True]


def test_a_410_is_dead_and_the_url_and_secret_are_in_no_error(
    sessions: sessionmaker[Session], certificate: tuple[Path, Path], corpus: Path
) -> None:
    cfg = config(HOOK)
    [nid] = seed(sessions, cfg, corpus)
    server = receiver(certificate, WHSEC)
    try:
        report = dispatch(
            sessions, cfg, environ=environ(server, certificate, WHSEC, "gone"), policy=FAST
        )
    finally:
        server.stop()
    assert [d.outcome for d in report.deliveries] == ["dead"]
    error = row(sessions, nid).last_error or ""
    assert "HTTP 410" in error
    assert "t0k3n-5ecret" not in error and WHSEC not in error


def test_the_body_names_its_fields_for_ops_and_test_messages() -> None:
    from datetime import UTC, datetime

    from watcher.delivery.render import render_ops, render_test

    at = datetime(2026, 1, 2, tzinfo=UTC)
    ops = json.loads(
        render_ops(key="k", event="failing", text="x", source="s", at=at, route="r").webhook
    )
    assert (ops["type"], ops["event"], ops["at"]) == ("ops", "failing", "2026-01-02T00:00:00Z")
    test = json.loads(render_test(key="k2", route="r", at=at).webhook)
    assert (test["type"], test["id"], test["route"]) == ("test", "k2", "r")
