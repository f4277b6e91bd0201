"""Serving on uvicorn: a real server on a real port answers; a port in use and a token
variable that is not set are one line each, before anything is served."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.web.conftest import PAGES, import_pages
from watcher.config import Config, WebConfig
from watcher.storage.engine import make_engine, session_factory
from watcher.web.serve import Background, WebSetupError, bind, build, token, url


def test_the_view_on_a_thread_answers_and_stops(tmp_path: object, db_url: str) -> None:
    import_pages(db_url, PAGES[-1:])
    engine = make_engine(db_url)
    try:
        web = Background(build(session_factory(engine), Config(), {}), bind("127.0.0.1", 0))
        web.start()
        try:
            r = httpx.get(url(web.sock), timeout=10)
            assert r.status_code == 200 and "snapshot 1</a> of mi" in r.text
            assert r.headers["referrer-policy"] == "no-referrer"
        finally:
            web.stop()
        assert not web.thread.is_alive()
    finally:
        engine.dispose()


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WebSetupError, match=rf"^cannot serve on 127.0.0.1:{port}: "):
            bind("127.0.0.1", port)


def test_a_token_variable_named_must_be_set() -> None:
    config = Config(web=WebConfig(token_env="WATCHER_WEB_TOKEN"))
    assert token(Config(), {}) is None
    assert token(config, {"WATCHER_WEB_TOKEN": "abc"}) == "abc"
    for environ in ({}, {"WATCHER_WEB_TOKEN": " "}):
        with pytest.raises(WebSetupError) as err:
            token(config, environ)
        assert str(err.value) == (
            "web.token_env: the environment variable WATCHER_WEB_TOKEN is not set"
        )
