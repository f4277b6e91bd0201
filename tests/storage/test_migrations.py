"""pytest-alembic's four standard checks, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_alembic.config import Config
from pytest_alembic.tests import (  # noqa: F401 - collected as tests
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy.engine import Engine

from watcher.storage.engine import make_engine
from watcher.storage.migrations import SCHEMA_HEAD
from watcher.storage.migrations.runner import HERE


@pytest.fixture
def alembic_config() -> Config:
    return Config(config_options={"script_location": str(HERE)})


@pytest.fixture
def alembic_engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


def test_schema_head_constant_matches_migrations() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(HERE))
    assert script.get_current_head() == SCHEMA_HEAD
