"""`watcher check` against a real local HTTP server serving real versions of the page."""

from __future__ import annotations

import time
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN
from tests.origin import Origin, drip_origin, page_head, serve_origin


def write_config(tmp_path: Path, url: str, **extra: str) -> str:
    lines = [
        "[[sources]]",
        'name = "mi"',
        f'url = "{url}"',
        'format = "markdown"',
        "attempts = 1",
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    path = tmp_path / "watcher.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def serve(httpserver: HTTPServer, body: bytes, status: int = 200) -> None:
    httpserver.clear()
    httpserver.expect_request("/page.md").respond_with_data(
        body, status=status, content_type="text/plain; charset=utf-8"
    )


def test_check_baseline_then_changes_then_nothing(
    httpserver: HTTPServer, tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path, httpserver.url_for("/page.md"))

    serve(httpserver, EN_CHAIN[1].read_bytes())
    out = run("check", config=config, db=db_url).stdout
    assert out.startswith("mi: snapshot") and "baseline stored" in out

    out = run("check", config=config, db=db_url).stdout
    assert "no change" in out
    assert len(run_json("snapshots", db=db_url)) == 1

    serve(httpserver, EN_CHAIN[2].read_bytes())
    (result,) = run_json("check", config=config, db=db_url)
    assert result["result"] == "changed" and result["changes"] > 0
    rows = run_json("changes", "--entity", "Azure API Management", "--column", "usgov", db=db_url)
    assert any(
        r["row"] == "user_assigned"
        and (r["old_status"], r["new_status"]) == ("preview", "available")
        for r in rows
    )
    snaps = run_json("snapshots", db=db_url)
    assert [s["origin"] for s in snaps] == ["fetch", "fetch"]


def test_failed_fetch_stores_nothing_exits_1_and_next_good_fetch_diffs_against_last_good(
    httpserver: HTTPServer, tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path, httpserver.url_for("/page.md"))
    serve(httpserver, EN_CHAIN[1].read_bytes())
    run("check", config=config, db=db_url)

    serve(httpserver, b"upstream broke", status=500)
    result = run("check", config=config, db=db_url, code=1)
    # The failure is an error: on stderr, as one line; nothing on stdout.
    assert result.stderr.startswith("mi: FAILED: HTTP 500")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert len(run_json("snapshots", db=db_url)) == 1
    assert run_json("changes", db=db_url) == []

    serve(httpserver, EN_CHAIN[2].read_bytes())
    run("check", config=config, db=db_url)
    snaps = run_json("snapshots", db=db_url)
    rows = run_json("changes", db=db_url)
    assert rows and {(r["from_snapshot"], r["to_snapshot"]) for r in rows} == {
        (snaps[0]["id"], snaps[1]["id"])
    }


def test_headers_dripped_a_byte_a_second_fail_the_check_within_its_timeout(
    tmp_path: Path, db_url: str
) -> None:
    page = EN_CHAIN[1].read_bytes()
    with drip_origin(page_head(page), page) as drip:
        config = write_config(tmp_path, drip.url, timeout="2")
        started = time.monotonic()
        result = run("check", config=config, db=db_url, code=1)
        took = time.monotonic() - started
    assert took < 4, f"the check ran {took:.1f}s"
    assert result.stderr == (
        "mi: FAILED: timed out (no complete headers within 2s) talking to "
        f"{drip.url.split('/')[2]} (gave up after 1 attempts)\n"
    )
    assert result.stdout == "" and run_json("snapshots", db=db_url) == []
    (row,) = run_json("fetches", db=db_url)
    assert row["error"].startswith("timed out (no complete headers within 2s)")


def test_dry_run_stores_nothing(httpserver: HTTPServer, tmp_path: Path, db_url: str) -> None:
    config = write_config(tmp_path, httpserver.url_for("/page.md"))
    serve(httpserver, EN_CHAIN[1].read_bytes())
    out = run("check", "--dry-run", config=config, db=db_url).stdout
    assert "(dry run)" in out and "baseline" in out
    assert run_json("snapshots", db=db_url) == []


def test_check_unknown_source_is_a_usage_error(tmp_path: Path, db_url: str) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9/page.md")
    result = run("check", "nope", config=config, db=db_url, code=2)
    assert result.stderr == "watcher: no source named nope in the config (known: mi)\n"


def test_many_sources_are_checked_at_once_and_reported_in_config_order(
    tmp_path: Path, db_url: str
) -> None:
    names = [f"page-{i}" for i in range(6)]
    # A slow origin, so that checks running one after another never overlap there.
    with serve_origin(Origin(body=EN_CHAIN[1].read_bytes(), delay=0.3)) as origin:
        config = tmp_path / "watcher.toml"
        config.write_text(
            "".join(
                f'[[sources]]\nname = "{n}"\nurl = "{origin.url}?{n}"\nformat = "markdown"\n'
                for n in names
            )
        )
        first = run_json("check", "--jobs", "3", config=str(config), db=db_url)
        again = run_json("check", "--jobs", "3", config=str(config), db=db_url)
    assert 2 <= origin.max_active <= 3  # at once, and never more than --jobs
    assert [(r["source"], r["result"]) for r in first] == [(n, "baseline") for n in names]
    assert len({r["snapshot"] for r in first}) == len(names)
    assert [(r["source"], r["result"]) for r in again] == [(n, "unchanged") for n in names]
    assert len(run_json("snapshots", db=db_url)) == len(names)


def test_status_shows_a_source_that_never_succeeded_as_failing_and_lists_imported_ones(
    httpserver: HTTPServer, tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path, httpserver.url_for("/page.md"))
    serve(httpserver, b"upstream broke", status=500)
    run("check", config=config, db=db_url, code=1)
    # Below failing_after (3), but it never worked: not "ok".
    (row,) = run_json("status", config=config, db=db_url)
    assert (row["source"], row["state"], row["failures_in_row"]) == ("mi", "failing", 1)
    assert row["last_success"] is None
    run("check", config=config, db=db_url, code=1)
    assert [r["state"] for r in run_json("status", config=config, db=db_url)] == ["failing"]

    # A source made by `watcher import` is not in the config, and is listed all the same.
    run("import", str(EN_CHAIN[0]), "--source", "archive", config=config, db=db_url)
    rows = run_json("status", config=config, db=db_url)
    assert [(r["source"], r["state"]) for r in rows] == [("mi", "failing"), ("archive", "imported")]
    assert rows[1]["last_check"] is None  # nothing checks it
    # Its history has changes all the same: when the last one was.
    run("import", str(EN_CHAIN[1]), "--source", "archive", config=config, db=db_url)
    rows = run_json("status", config=config, db=db_url)
    assert rows[1]["last_change"] == "2021-01-28T00:00:00Z"

    # Once it works, it is ok.
    serve(httpserver, EN_CHAIN[1].read_bytes())
    run("check", config=config, db=db_url)
    assert [r["state"] for r in run_json("status", config=config, db=db_url)] == ["ok", "imported"]


def test_a_configured_source_with_imported_history_is_never_checked_until_it_is(
    tmp_path: Path, db_url: str
) -> None:
    config = write_config(tmp_path, "https://learn.example/page.md")
    run("import", str(EN_CHAIN[0]), "--source", "mi", config=config, db=db_url)
    (row,) = run_json("status", config=config, db=db_url)
    assert (row["state"], row["last_check"], row["last_success"]) == ("never checked", None, None)
