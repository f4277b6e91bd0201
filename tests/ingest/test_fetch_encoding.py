"""Compressed answers against a real local server: a gzip or deflate page is read as the page,
and the size cap holds as the body inflates, so a gzip bomb costs no memory."""

from __future__ import annotations

import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from sqlalchemy.engine import Engine
from werkzeug import Response

from tests.conftest import EN_CHAIN
from tests.ingest.test_fetch_faults import FAST, GOOD, check, counts, last_fetch_errors
from watcher.audit.snapshots import snapshot_body
from watcher.ingest.fetch import FetchPolicy
from watcher.storage.engine import session_factory
from watcher.storage.models import Snapshot

PAGE = EN_CHAIN[1].read_bytes()
CAP = FetchPolicy().max_bytes
# Runs the real command line and leaves the process's peak resident memory in a file: Linux's
# VmHWM, as getrusage's ru_maxrss keeps the high-water mark of the process it was forked from.
PEAK = """
import re, sys
from pathlib import Path
from watcher.cli import cli
try:
    cli.main(sys.argv[2:], prog_name="watcher")
finally:
    status = Path("/proc/self/status").read_text()
    Path(sys.argv[1]).write_text(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
"""


def compressed(data: bytes, wbits: int, repeat: int = 1) -> bytes:
    """``data`` ``repeat`` times over, compressed as ``wbits`` says (31 gzip, 15 zlib, -15 raw
    deflate) without ever holding the whole of it."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(packer.compress(data) for _ in range(repeat)) + packer.flush()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """200 MB of zeros gzipped into 200-odd KB."""
    return compressed(bytes(1 << 20), 31, repeat=200)


def serve(httpserver: HTTPServer, body: bytes, encoding: str) -> str:
    httpserver.clear()
    httpserver.expect_request("/page.md").respond_with_data(
        body, content_type="text/plain; charset=utf-8", headers={"Content-Encoding": encoding}
    )
    return httpserver.url_for("/page.md")


@pytest.mark.parametrize(
    ("encoding", "wbits"), [("gzip", 31), ("deflate", 15), ("deflate", -15)], ids=str
)
def test_a_compressed_page_is_read_as_the_page(
    encoding: str, wbits: int, engine: Engine, httpserver: HTTPServer
) -> None:
    outcome = check(engine, serve(httpserver, compressed(PAGE, wbits), encoding), GOOD)
    assert outcome.result == "baseline", outcome
    assert last_fetch_errors(engine, 1) == [None]


def stored_body(engine: Engine) -> bytes:
    with session_factory(engine)() as s:
        return snapshot_body(s, s.scalars(select(Snapshot.id)).one()) or b""


@pytest.mark.parametrize("padding", [b"", bytes(8)], ids=["members", "members and zeros"])
def test_a_gzip_body_of_two_members_is_read_whole(
    padding: bytes, engine: Engine, httpserver: HTTPServer
) -> None:
    """RFC 1952 lets a gzip body be several members one after another: the page is all of
    them, never cut to the first (a cut page would read as services removed); zeros some
    servers pad it with are no page."""
    half = len(PAGE) // 2
    body = compressed(PAGE[:half], 31) + compressed(PAGE[half:], 31) + padding
    outcome = check(engine, serve(httpserver, body, "gzip"), GOOD)
    assert outcome.result == "baseline", outcome
    assert stored_body(engine) == PAGE


def test_a_zlib_body_whose_first_byte_comes_alone_is_read(
    engine: Engine, httpserver: HTTPServer
) -> None:
    """Which deflate it is (zlib-wrapped or raw) is told by a two-byte header: a first piece of
    one byte waits for the second."""
    body = compressed(PAGE, 15)

    def dribble() -> Iterator[bytes]:
        yield body[:1]
        time.sleep(0.3)
        yield body[1:]

    httpserver.expect_request("/page.md").respond_with_response(
        Response(
            dribble(),
            content_type="text/plain; charset=utf-8",
            headers={"Content-Encoding": "deflate"},
        )
    )
    outcome = check(engine, httpserver.url_for("/page.md"), GOOD)
    assert outcome.result == "baseline", outcome
    assert stored_body(engine) == PAGE


def test_a_gzip_bomb_fails_at_the_size_cap(
    bomb: bytes, engine: Engine, httpserver: HTTPServer
) -> None:
    outcome = check(engine, serve(httpserver, bomb, "gzip"))
    assert outcome.result == "failed"
    assert outcome.error == f"body is over the {CAP}-byte cap"
    assert last_fetch_errors(engine, 1) == [outcome.error]
    assert counts(engine)[:2] == (0, 0)


@pytest.mark.parametrize(
    ("body", "encoding", "error"),
    [
        (b"\x1f\x8b\x08\x00 not gzip at all", "gzip", "undecodable gzip body from"),
        (compressed(PAGE, 31)[:2000], "gzip", "truncated gzip body from"),
        (compressed(PAGE, 31), "br", "unsupported Content-Encoding br from"),
    ],
    ids=["corrupt", "truncated", "brotli never asked for"],
)
def test_a_body_that_cannot_be_inflated_fails_in_one_line(
    body: bytes, encoding: str, error: str, engine: Engine, httpserver: HTTPServer
) -> None:
    outcome = check(engine, serve(httpserver, body, encoding), FAST)
    assert outcome.result == "failed" and error in (outcome.error or ""), outcome
    assert "\n" not in (outcome.error or "")
    assert counts(engine)[:2] == (0, 0)


def peak_kib(tmp_path: Path, url: str, name: str) -> tuple[int, subprocess.CompletedProcess[str]]:
    """`watcher check` of ``url`` in a process of its own: its peak memory, and how it ran."""
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / name}.db"\n\n'
        f'[[sources]]\nname = "mi"\nurl = "{url}"\nformat = "markdown"\nattempts = 1\n'
    )
    out = tmp_path / f"{name}.peak"
    run = subprocess.run(
        [sys.executable, "-c", PEAK, str(out), "--config", str(config), "check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return int(out.read_text()), run


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's VmHWM")
def test_a_gzip_bomb_costs_no_more_memory_than_a_page(
    bomb: bytes, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """200 MB of zeros once inflated 64 MiB at a time before the 5 MB cap applied."""
    page, ran = peak_kib(tmp_path, serve(httpserver, compressed(PAGE, 31), "gzip"), "page")
    assert ran.returncode == 0 and "baseline stored" in ran.stdout, ran
    peak, ran = peak_kib(tmp_path, serve(httpserver, bomb, "gzip"), "bomb")
    assert (ran.returncode, ran.stderr) == (1, f"mi: FAILED: body is over the {CAP}-byte cap\n")
    assert peak - page < 40 * 1024, f"peak {peak} KiB against {page} KiB for a page"
