"""`watcher fetches`: the fetch log as a platform team reads it, latest first."""

from __future__ import annotations

from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN

PAGE = EN_CHAIN[1].read_bytes()


def config(tmp_path: Path, httpserver: HTTPServer) -> str:
    httpserver.expect_request("/page.md").respond_with_data(PAGE, content_type="text/plain")
    httpserver.expect_request("/gone.md").respond_with_data(b"gone", status=404)
    path = tmp_path / "watcher.toml"
    path.write_text(
        f'[[sources]]\nname = "mi"\nurl = "{httpserver.url_for("/page.md")}"\n'
        'format = "markdown"\n'
        f'[[sources]]\nname = "gone"\nurl = "{httpserver.url_for("/gone.md")}"\nattempts = 1\n'
    )
    return str(path)


def test_the_fetch_log_lists_every_request_latest_first(
    httpserver: HTTPServer, tmp_path: Path, db_url: str
) -> None:
    cfg = config(tmp_path, httpserver)
    run("check", "--jobs", "1", config=cfg, db=db_url, code=1)  # gone's 404 fails the run
    run("check", "mi", config=cfg, db=db_url)
    rows = run_json("fetches", config=cfg, db=db_url)
    assert [(r["source"], r["status"], r["snapshot"]) for r in rows] == [
        ("mi", 200, 1),  # found again: the fast path logs the snapshot it is
        ("gone", 404, None),
        ("mi", 200, 1),
    ]
    assert rows[1]["error"].startswith("HTTP 404") and rows[1]["attempt"] == 1
    assert rows[0]["time"].endswith("Z") and rows[0]["bytes"] == len(PAGE)
    assert rows[0]["url"] == httpserver.url_for("/page.md")
    only = run_json("fetches", "--source", "gone", config=cfg, db=db_url)
    assert [r["source"] for r in only] == ["gone"]
    assert len(run_json("fetches", "--limit", "2", config=cfg, db=db_url)) == 2


def test_the_table_shows_what_a_person_reads_first(
    httpserver: HTTPServer, tmp_path: Path, db_url: str
) -> None:
    cfg = config(tmp_path, httpserver)
    run("check", "mi", config=cfg, db=db_url)
    out = run("fetches", config=cfg, db=db_url).stdout
    header = next(line for line in out.splitlines() if "time" in line)
    fields = ("time", "source", "attempt", "status", "bytes", "ms", "error", "snapshot")
    assert [word for word in header.split() if word.isalpha()] == list(fields)


def test_an_unknown_source_is_a_usage_error_naming_the_known_ones(
    httpserver: HTTPServer, tmp_path: Path, db_url: str
) -> None:
    cfg = config(tmp_path, httpserver)
    run("check", "mi", config=cfg, db=db_url)
    result = run("fetches", "--source", "nope", config=cfg, db=db_url, code=2)
    assert "no source named 'nope' (known: mi)" in result.stderr


def test_an_empty_log_is_an_empty_list(tmp_path: Path, db_url: str) -> None:
    assert run_json("fetches", db=db_url) == []
