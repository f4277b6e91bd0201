"""Shared fixtures: databases (SQLite always, PostgreSQL when WATCHER_TEST_POSTGRES_URL is set)
and the location of the real page corpus."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from watcher.storage.engine import ensure_schema, make_engine, session_factory

ROOT = Path(__file__).resolve().parents[1]
# The real page history, in the repository (the package bundles it for `watcher demo`).
CORPUS = ROOT / "watcher" / "corpus"
POSTGRES_URL = os.environ.get("WATCHER_TEST_POSTGRES_URL")
NO_POSTGRES = "WATCHER_TEST_POSTGRES_URL is not set: the PostgreSQL run of this test is skipped"

EN_CHAIN = [
    CORPUS / "en" / "2019-06-19__MicrosoftDocs__a4b043d.md",
    CORPUS / "en" / "2021-01-28__MicrosoftDocs.md",
    CORPUS / "en" / "2021-11-09__MicrosoftDocs__03436ea.md",
]
STATUS_CHAIN = [
    CORPUS / "status-page" / "2021-12-08__MicrosoftDocs__00605c9.md",
    CORPUS / "status-page" / "2023-05-25__MicrosoftDocs__6f6728e.md",
    CORPUS / "status-page" / "2025-05-09__MicrosoftDocs-entra-docs__41d266e.md",
]


PAGE_2025 = STATUS_CHAIN[2]
# Edits of the real 2025 page that a later version could make: Microsoft.Web/sites loses
# user-assigned, Microsoft.Sql/servers/databases gains system-assigned, and Azure Virtual
# Machines' documentation is pointed at another article.
CAPABILITY_EDITS = (
    ("ms.date: 05/09/2025", "ms.date: 06/02/2025"),
    (
        "| Microsoft.Web | sites | System-assigned<br/>User-assigned |",
        "| Microsoft.Web | sites | System-assigned |",
    ),
    (
        "| Microsoft.Sql | servers/databases | User-assigned |",
        "| Microsoft.Sql | servers/databases | System-assigned<br/>User-assigned |",
    ),
    (
        "(/azure/virtual-machines/windows/security-policy#managed-identities-for-azure-resources)",
        "(/azure/virtual-machines/overview)",
    ),
)


def later_2025(folder: Path) -> Path:
    """The real 2025 page with CAPABILITY_EDITS made, written into ``folder``."""
    text = PAGE_2025.read_text(encoding="utf-8")
    for old, new in CAPABILITY_EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = folder / "2025-06-02.md"
    path.write_text(text, encoding="utf-8")
    return path


def reset_postgres(url: str) -> None:
    """Empty the scratch database so each test starts from nothing."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(autouse=True)
def config_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own cache of validated configs (watcher.config.cache), for the commands it
    runs in this process and in the subprocesses that inherit the environment: no test reads
    another's cache, or the user's."""
    where = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(where))
    return where


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests' servers are local: a runner's proxy settings (which fetches honour, as
    they must in production) would send the tests' requests to the runner's proxy."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: SQLite in tmp_path, or the scratch PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'watcher.db'}"
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    ensure_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS
