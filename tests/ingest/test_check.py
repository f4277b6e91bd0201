"""The unchanged check on the raw driver: what it loads, what it writes, when it steps aside.

A cron run that finds the page as stored settles it without SQLAlchemy (watcher.ingest.check); every
other case goes through the pipeline. These run against a real origin and both databases.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.engine import Engine
from werkzeug import Request, Response

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN
from tests.delivery.conftest import route
from watcher.config import SourceConfig
from watcher.ingest.check import check_source, settle_unchanged
from watcher.ingest.fetch import FetchPolicy, Validators, fetch, make_client
from watcher.storage.checks import known
from watcher.storage.connections import Database
from watcher.storage.engine import session_factory
from watcher.storage.lease import lease
from watcher.storage.models import Fetch, Notification, Source

PAGE = EN_CHAIN[1].read_bytes()
POLICY = FetchPolicy(attempts=1, read_timeout=10, deadline=30)
OPS = route("ops", "stdout", ops=True)


def serve(httpserver: HTTPServer, body: bytes, status: int = 200) -> str:
    httpserver.clear()
    httpserver.expect_request("/page.md").respond_with_data(
        body, status=status, content_type="text/plain; charset=utf-8"
    )
    return httpserver.url_for("/page.md")


def source_cfg(url: str, **extra: object) -> SourceConfig:
    return SourceConfig.model_validate(
        {"name": "mi", "url": url, "format": "markdown", "attempts": 1, **extra}
    )


@pytest.fixture(params=["engine", "driver"])
def database(request: pytest.FixtureRequest, engine: Engine, db_url: str) -> Iterator[Database]:
    """The daemon's way (the engine's pooled connections) and the cron run's (the driver)."""
    db = Database.of(engine) if request.param == "engine" else Database(db_url)
    yield db
    db.close()


def check(db: Database, cfg: SourceConfig, routes: tuple[object, ...] = ()) -> object:
    with make_client(POLICY) as client:
        return check_source(db, client, cfg, routes, policy=POLICY)  # type: ignore[arg-type]


def test_an_unchanged_check_records_the_fetch_and_the_success(
    httpserver: HTTPServer, database: Database, engine: Engine
) -> None:
    cfg = source_cfg(serve(httpserver, PAGE))
    baseline = check(database, cfg)
    before = datetime.now(UTC)
    again = check(database, cfg)
    assert again.result == "unchanged"  # type: ignore[attr-defined]
    assert again.snapshot_id == baseline.snapshot_id  # type: ignore[attr-defined]
    with session_factory(engine)() as session:
        source = session.scalars(select(Source)).one()
        fetches = session.scalars(select(Fetch).order_by(Fetch.id)).all()
    # What the ORM reads back of the driver's rows: aware UTC times, in order.
    assert source.last_check_at is not None and source.last_check_at >= before
    assert source.last_success_at == source.last_check_at
    assert source.failures_in_row == 0 and source.state == "ok"
    assert [(f.outcome, f.status_code, f.bytes) for f in fetches] == [("ok", 200, len(PAGE))] * 2
    assert fetches[1].started_at >= before - timedelta(seconds=1)
    assert fetches[1].started_at.tzinfo is not None


def test_a_failing_source_that_finds_its_page_again_recovers_through_the_pipeline(
    httpserver: HTTPServer, database: Database, engine: Engine
) -> None:
    cfg = source_cfg(serve(httpserver, PAGE), failing_after=1)
    check(database, cfg, (OPS,))
    serve(httpserver, b"down", status=503)
    assert check(database, cfg, (OPS,)).result == "failed"  # type: ignore[attr-defined]
    serve(httpserver, PAGE)
    assert check(database, cfg, (OPS,)).result == "unchanged"  # type: ignore[attr-defined]
    with session_factory(engine)() as session:
        source = session.scalars(select(Source)).one()
        events = [n.payload["event"] for n in session.scalars(select(Notification))]
    assert source.state == "ok" and source.failures_in_row == 0
    assert events == ["failing", "recovered"]


def test_a_moved_source_takes_its_new_url_even_when_the_page_is_the_same(
    httpserver: HTTPServer, database: Database, engine: Engine
) -> None:
    url = serve(httpserver, PAGE)
    check(database, source_cfg(url))
    moved = url + "?moved=1"
    assert check(database, source_cfg(moved)).result == "unchanged"  # type: ignore[attr-defined]
    with session_factory(engine)() as session:
        assert session.scalars(select(Source.url)).one() == moved


def test_a_304_is_settled_without_a_snapshot(httpserver: HTTPServer, database: Database) -> None:
    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304, headers={"ETag": '"v1"'})
        return Response(PAGE, content_type="text/plain", headers={"ETag": '"v1"'})

    httpserver.expect_request("/page.md").respond_with_handler(handler)
    cfg = source_cfg(httpserver.url_for("/page.md"))
    assert check(database, cfg).result == "baseline"  # type: ignore[attr-defined]
    assert check(database, cfg).result == "not_modified"  # type: ignore[attr-defined]
    with database.raw() as conn:
        assert conn.one("SELECT count(*) FROM snapshots") == (1,)
        assert conn.one("SELECT count(*) FROM fetches WHERE status_code = 304") == (1,)
        conn.end_read()


def test_a_quarantined_page_seen_again_goes_through_the_pipeline(
    httpserver: HTTPServer, database: Database
) -> None:
    cfg = source_cfg(serve(httpserver, PAGE))
    check(database, cfg)
    serve(httpserver, b"Please sign in to continue.")
    assert check(database, cfg).result == "quarantined"  # type: ignore[attr-defined]
    again = check(database, cfg)
    assert again.result == "quarantined"  # type: ignore[attr-defined]
    assert "seen again" in again.detail  # type: ignore[attr-defined]


def test_a_dry_run_of_an_unchanged_page_writes_nothing(
    httpserver: HTTPServer, database: Database
) -> None:
    cfg = source_cfg(serve(httpserver, PAGE))
    check(database, cfg)
    with make_client(POLICY) as client:
        outcome = check_source(database, client, cfg, policy=POLICY, dry_run=True)
    assert outcome.result == "unchanged"
    with database.raw() as conn:
        assert conn.one("SELECT count(*) FROM fetches") == (1,)
        conn.end_read()


def test_a_source_changed_during_the_fetch_is_left_to_the_pipeline(
    httpserver: HTTPServer, database: Database
) -> None:
    cfg = source_cfg(serve(httpserver, PAGE))
    check(database, cfg)
    with make_client(POLICY) as client, database.raw() as conn:
        seen = known(conn, "mi")
        assert seen is not None
        result = fetch(client, cfg.url, cfg.format, Validators(), POLICY)
        # Meanwhile the daemon's staleness sweep marks it stale.
        with conn.transaction():
            conn.execute("UPDATE sources SET state = 'stale'").close()
        assert settle_unchanged(conn, cfg, seen, result) is None
        assert conn.one("SELECT count(*) FROM fetches") == (1,)
        conn.end_read()
    # The pipeline then announces the recovery.
    assert check(database, cfg).result == "unchanged"  # type: ignore[attr-defined]
    with database.raw() as conn:
        assert conn.one("SELECT state FROM sources") == ("ok",)
        conn.end_read()


def test_a_source_someone_else_is_checking_is_skipped(
    httpserver: HTTPServer, database: Database
) -> None:
    cfg = source_cfg(serve(httpserver, PAGE))
    check(database, cfg)
    other = Database(database.url) if database.url.startswith("sqlite") else database
    with other.raw() as conn, lease(conn, "mi", timedelta(minutes=5)) as held:
        assert held
        outcome = check(database, cfg)
    assert outcome.result == "skipped"  # type: ignore[attr-defined]
    # It says who: this very process holds the other lease here.
    detail = outcome.detail  # type: ignore[attr-defined]
    assert detail.startswith(
        f"pid {os.getpid()} on host {socket.gethostname()} is checking it now, since "
    )
    assert check(database, cfg).result == "unchanged"  # type: ignore[attr-defined]


PROBE = textwrap.dedent(
    """
    import json, sys
    from watcher.cli import main
    sys.argv = ["watcher", "--config", sys.argv[1], "--db", sys.argv[2], "check"]
    code = None
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    heavy = ("sqlalchemy", "alembic", "apscheduler", "slack_sdk", "jinja2", "cmarkgfm",
             "selectolax", "watcher.ingest.pipeline", "watcher.domain.diff", "watcher.parse",
             "watcher.domain.pairing", "watcher.domain.emitting", "watcher.domain.changes",
             "watcher.delivery.outbox", "watcher.storage.models", "rich", "pygments",
             "pydantic", "watcher.config.models", "watcher.domain.guard",
             "watcher.domain.document")
    loaded = sorted({m for m in sys.modules for h in heavy if m == h or m.startswith(h + ".")})
    print(json.dumps({"code": code, "loaded": loaded}))
    """
)


def test_an_unchanged_cron_check_loads_no_orm_parser_notifier_or_pydantic(
    httpserver: HTTPServer, tmp_path: Path, db_url: str
) -> None:
    config = tmp_path / "watcher.toml"
    # A route filtering on row and column keys: checking those names needs no parser.
    config.write_text(
        f'[[sources]]\nname = "mi"\nurl = "{serve(httpserver, PAGE)}"\nformat = "markdown"\n'
        '[[routes]]\nname = "team"\nchannel = "stdout"\ncolumns = ["usgov"]\n'
        'rows = ["user_assigned"]\n'
    )
    # The first run validates the config and keeps it (watcher.config.cache): the probe's
    # run reads it from there.
    assert "baseline stored" in run("check", config=str(config), db=db_url).stdout
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), db_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    *printed, last = probe.stdout.strip().splitlines()
    assert printed == ["mi: snapshot 1 no change"], probe.stdout + probe.stderr
    assert json.loads(last) == {"code": 0, "loaded": []}, probe.stderr
    # And what it wrote is what `status` reads with the ORM.
    (status,) = run_json("status", config=str(config), db=db_url)
    assert status["state"] == "ok" and status["last_check"] == status["last_success"]


def test_a_database_url_with_a_bad_password_never_shows_it() -> None:
    # libpq quotes a malformed URL back whole; the driver path must not pass that on.
    db = Database("postgresql://watcher:se cret-9f8e@127.0.0.1:1/watcher")
    with pytest.raises(ConnectionError) as caught, db.raw():
        pass
    assert "se cret-9f8e" not in str(caught.value)


def test_a_password_with_an_unescaped_at_sign_is_masked_too() -> None:
    # libpq cuts at the first "@" and names the rest as the host; the pieces are masked.
    db = Database("postgresql://watcher:pa55@w0rd-9f8e@127.0.0.1:1/watcher")
    with pytest.raises(ConnectionError) as caught, db.raw():
        pass
    assert "pa55" not in str(caught.value) and "w0rd-9f8e" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_check_on_an_unreachable_database_names_no_password(tmp_path: Path) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text('[[sources]]\nname = "mi"\nurl = "http://127.0.0.1:9/p.md"\n')
    # An "@" in a password is written %40 (a raw one is refused before any driver sees it).
    url = "postgresql://watcher:pa55%40w0rd-9f8e@127.0.0.1:1/watcher"
    result = run("check", config=str(config), db=url, code=1)
    assert "cannot prepare the database" in result.stderr
    assert "pa55" not in result.output and "w0rd-9f8e" not in result.output
