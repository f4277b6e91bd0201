"""The web view's fixtures: a database filled from the real page history by ``watcher
import`` (the six bundled versions, the 2019 matrix to the 2025 status page, each stored at
its ms.date), and the app on it driven by Starlette's test client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser
from starlette.testclient import TestClient

from tests.cliutil import run
from tests.conftest import EN_CHAIN, STATUS_CHAIN
from watcher.config import Config, WebConfig, default_config
from watcher.storage.engine import make_engine, session_factory
from watcher.web.app import create_app

PAGES = [*EN_CHAIN, *STATUS_CHAIN]
SOURCE = "mi"
AKS = "Azure Kubernetes Service (AKS)"


def import_pages(db_url: str, pages: list[Path], source: str = SOURCE) -> None:
    run("import", *map(str, pages), "--source", source, db=db_url)


@pytest.fixture
def history_db(db_url: str) -> str:
    """The whole bundled history imported as source "mi": snapshots 1 to 6."""
    import_pages(db_url, PAGES)
    return db_url


Client = Callable[..., TestClient]


@pytest.fixture
def make_client() -> Iterator[Client]:
    """A test client on the app over a database URL; ``token`` asks for a bearer token."""
    engines: list[Any] = []

    def make(db_url: str, *, token: str | None = None, config: Config | None = None) -> TestClient:
        engine = make_engine(db_url)
        engines.append(engine)
        cfg = config or default_config().model_copy(update={"web": WebConfig()})
        return TestClient(create_app(session_factory(engine), cfg, token=token))

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def client(history_db: str, make_client: Client) -> TestClient:
    return make_client(history_db)


def html(response: Any) -> LexborHTMLParser:
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/html")
    return LexborHTMLParser(response.text)


def words(node: Any, separator: str = " ") -> str:
    """A node's text with its whitespace folded, as a person reads it; inline text (a line
    with links in it) with ``separator=""``."""
    return " ".join(node.text(separator=separator).split())
