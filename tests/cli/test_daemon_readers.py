"""`watcher run` starts while another process is writing: what the daemon only reads (each
source's last check, to schedule it; the states and the outbox for /metrics) waits for no
writer, so a long import or another instance's delivery does not keep it from starting."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.test_daemon import PAGE, daemon, free_port, stop, wait_for, write_config
from tests.cliutil import run, writer_holding_the_lock
from tests.origin import Origin, serve_origin


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_the_daemon_starts_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    run("db", "upgrade", db=db)
    port = free_port()
    with serve_origin(Origin(body=PAGE)) as origin:
        config = write_config(tmp_path, origin.url, "1h")
        with daemon(config, db, port) as proc:
            with writer_holding_the_lock(db):
                # Far under the 30 s a blocked read waits before it fails the start.
                assert wait_for(lambda: healthy(port), 10), "not started while a writer wrote"
                assert proc.poll() is None
            # The writer is gone: the catch-up check it held up goes through.
            assert wait_for(lambda: len(origin.hits) >= 1, 30)
            code, out = stop(proc)
    assert code == 0, out
    assert "watcher daemon started" in out
