"""run_checks, the one entry point of a check, and what a check leaves in the fetch log:
against a real origin, on both databases, through the engine's pool and the bare driver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy.engine import Engine
from werkzeug import Request, Response

from tests.conftest import EN_CHAIN
from watcher.audit.fetches import fetch_rows
from watcher.config import SourceConfig
from watcher.ingest import pipeline
from watcher.ingest.check import CheckOptions, run_checks
from watcher.ingest.fetch import FetchPolicy
from watcher.storage.connections import Database
from watcher.storage.engine import session_factory

PAGE = EN_CHAIN[1].read_bytes()
NEXT = EN_CHAIN[2].read_bytes()
POLICY = FetchPolicy(attempts=3, backoff=0.01, max_backoff=0.02, read_timeout=10, deadline=30)
OPTIONS = CheckOptions(policy=POLICY)


@pytest.fixture(params=["engine", "driver"])
def database(request: pytest.FixtureRequest, engine: Engine, db_url: str) -> Iterator[Database]:
    """The daemon's way (the engine's pooled connections) and the cron run's (the driver)."""
    db = Database.of(engine) if request.param == "engine" else Database(db_url)
    yield db
    db.close()


class Origin:
    """Serves the responses queued for a path in turn, then the last one again and again."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.server = httpserver
        self.queued: dict[str, list[Response]] = {}

    def serve(self, path: str, *responses: Response) -> str:
        self.queued[path] = list(responses)
        self.server.expect_request(path).respond_with_handler(self._answer)
        return self.server.url_for(path)

    def _answer(self, request: Request) -> Response:
        queue = self.queued[request.path]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def page(body: bytes, status: int = 200, **headers: str) -> Response:
    return Response(body, status=status, content_type="text/plain", headers=headers)


def source(name: str, url: str) -> SourceConfig:
    return SourceConfig(name=name, url=url, format="markdown")


def log(database: Database, name: str | None = None) -> list[dict[str, Any]]:
    with session_factory(database.engine)() as session:
        return fetch_rows(session, name, limit=50)


def test_outcomes_come_in_the_order_of_the_sources_whatever_order_they_finish_in(
    httpserver: HTTPServer, database: Database
) -> None:
    origin = Origin(httpserver)
    cfgs = [source(f"s{i}", origin.serve(f"/p{i}.md", page(PAGE))) for i in range(5)]
    outcomes = run_checks(database, cfgs, jobs=4, options=OPTIONS)
    assert [(o.source, o.result) for o in outcomes] == [(c.name, "baseline") for c in cfgs]
    again = run_checks(database, cfgs[::-1], jobs=4, options=OPTIONS)
    assert [(o.source, o.result) for o in again] == [(c.name, "unchanged") for c in cfgs[::-1]]


def test_each_try_of_a_check_is_in_the_fetch_log_with_the_snapshot_it_came_to(
    httpserver: HTTPServer, database: Database
) -> None:
    origin = Origin(httpserver)
    url = origin.serve("/p.md", page(b"busy", 503), page(PAGE))
    (baseline,) = run_checks(database, [source("mi", url)], options=OPTIONS)
    assert baseline.result == "baseline"
    rows = log(database)
    assert [(r["attempt"], r["status"], r["snapshot"]) for r in rows] == [
        (2, 200, baseline.snapshot_id),
        (1, 503, None),
    ]
    assert rows[1]["error"] == f"HTTP 503 from {httpserver.host}:{httpserver.port}"


def test_the_fast_path_logs_the_snapshot_the_page_is_found_to_be(
    httpserver: HTTPServer, database: Database
) -> None:
    origin = Origin(httpserver)
    url = origin.serve("/p.md", page(PAGE, ETag='"v1"'), page(b"", 304, ETag='"v1"'))
    cfg = source("mi", url)
    (baseline,) = run_checks(database, [cfg], options=OPTIONS)
    (again,) = run_checks(database, [cfg], options=OPTIONS)
    assert again.result == "not_modified"
    assert [(r["status"], r["snapshot"]) for r in log(database)] == [
        (304, baseline.snapshot_id),
        (200, baseline.snapshot_id),
    ]
    origin.serve("/p.md", page(NEXT))
    (changed,) = run_checks(database, [cfg], options=OPTIONS)
    assert changed.result == "changed"
    assert log(database)[0]["snapshot"] == changed.snapshot_id != baseline.snapshot_id


def test_a_failed_fetch_is_counted_with_its_requests(
    httpserver: HTTPServer, database: Database
) -> None:
    url = Origin(httpserver).serve("/p.md", page(b"gone", 404))
    cfg = SourceConfig(name="mi", url=url, format="markdown", failing_after=2)
    dry = run_checks(database, [cfg], options=CheckOptions(policy=POLICY, dry_run=True))
    assert dry[0].failed
    with database.raw() as conn:
        assert conn.one("SELECT count(*) FROM sources") == (0,)  # a dry run records nothing
        conn.end_read()
    for _ in range(2):
        (outcome,) = run_checks(database, [cfg], options=OPTIONS)
        assert outcome.failed and outcome.error is not None and "HTTP 404" in outcome.error
    assert [(r["attempt"], r["status"], r["snapshot"]) for r in log(database)] == [
        (1, 404, None)
    ] * 2
    with database.raw() as conn:
        assert conn.one("SELECT state, failures_in_row FROM sources") == ("failing", 2)
        conn.end_read()


def test_a_check_that_breaks_after_its_fetch_is_counted_once_with_its_request(
    httpserver: HTTPServer, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> object:
        raise RuntimeError("the parser broke")  # a fault no real origin can cause

    url = Origin(httpserver).serve("/p.md", page(PAGE))
    monkeypatch.setattr(pipeline, "parse", broken)
    (outcome,) = run_checks(database, [source("mi", url)], options=OPTIONS)
    assert outcome.failed and outcome.error == "RuntimeError: the parser broke"
    assert [(r["status"], r["snapshot"]) for r in log(database)] == [(200, None)]
    with database.raw() as conn:
        assert conn.one("SELECT failures_in_row, last_success_at FROM sources") == (1, None)
        conn.end_read()
