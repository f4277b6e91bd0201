"""`watcher serve` as a real subprocess: it serves the database it is given on the address it
says, stops on SIGTERM, and refuses a busy port or an unset token in one line (exit 2). And
`watcher run` with `[web] enabled = true` serves the same view beside its checks."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.cli.test_daemon import daemon, free_port, stop, wait_for
from tests.cliutil import run
from tests.conftest import EN_CHAIN
from tests.origin import Origin, serve_origin


def _serve(db: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "watcher", "--db", db, "serve", *args]
    return subprocess.Popen(
        argv, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )


def test_serve_answers_on_the_address_it_names_and_stops_on_sigterm(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    run("import", *map(str, EN_CHAIN), "--source", "mi", db=db)
    proc = _serve(db, "--port", "0")
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.fullmatch(
            r"watcher: serving the web view on (http://127\.0\.0\.1:\d+/) .*\n", line
        )
        assert found, line
        r = httpx.get(found.group(1) + "?at=2021-06-01", timeout=10)
        assert r.status_code == 200 and "snapshot 2</a> of mi" in r.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_busy_port_or_an_unset_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(db, "--port", str(port))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert err.startswith(f"watcher: cannot serve on 127.0.0.1:{port}: ") and err.count("\n") == 1
    config = tmp_path / "w.toml"
    config.write_text('[web]\ntoken_env = "WATCHER_WEB_TOKEN"\n')
    argv = [sys.executable, "-m", "watcher", "--config", str(config), "--db", db, "serve"]
    env = {k: v for k, v in os.environ.items() if k != "WATCHER_WEB_TOKEN"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
    assert done.returncode == 2
    assert done.stderr == (
        "watcher: web.token_env: the environment variable WATCHER_WEB_TOKEN is not set\n"
    )
    # config check says it before serve is tried.
    argv[-1:] = ["config", "check"]
    checked = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30)
    assert checked.returncode == 2
    assert checked.stderr == done.stderr


def test_the_daemon_serves_the_view_when_the_config_enables_it(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'w.db'}"
    port = free_port()
    with serve_origin(Origin(body=EN_CHAIN[1].read_bytes())) as origin:
        config = tmp_path / "w.toml"
        config.write_text(
            f'[[sources]]\nname = "mi"\nurl = "{origin.url}"\nformat = "markdown"\n'
            f'every = "1h"\nattempts = 1\n\n[web]\nenabled = true\nport = {port}\n'
        )
        with daemon(config, db) as proc:
            assert wait_for(lambda: len(origin.hits) >= 1, 15)

            def answered() -> bool:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/status", timeout=2)
                except httpx.HTTPError:
                    return False
                return r.status_code == 200 and "<td>mi</td><td>ok</td>" in r.text

            assert wait_for(answered, 15)
            api = httpx.get(f"http://127.0.0.1:{port}/api/v1/snapshots", timeout=5).json()
            assert [s["source"] for s in api] == ["mi"]
            code, out = stop(proc)
    assert code == 0, out
    with socket.socket() as again:  # the port is free again: the view stopped with the daemon
        again.bind(("127.0.0.1", port))
