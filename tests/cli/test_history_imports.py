"""The query commands start without what they never use: `changes`, `state`, `history` and
`snapshots` answer from the database without loading the page parser, the delivery's
renderers and channels, pydantic or jinja2, and on SQLite without SQLAlchemy's PostgreSQL
dialect (bench/startup.py measures what that saves)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cliutil import run
from tests.conftest import EN_CHAIN

PROBE = textwrap.dedent(
    """
    import json, sys
    from watcher.cli import main
    sys.argv = ["watcher", "--config", sys.argv[1], *sys.argv[2:]]
    code = None
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    unused = ("selectolax", "cmarkgfm", "watcher.parse.tables", "watcher.parse.markdown",
              "watcher.delivery.outbox", "watcher.delivery.channels", "watcher.delivery.render",
              "pydantic", "watcher.config.models", "jinja2", "alembic", "httpcore",
              "sqlalchemy.dialects.postgresql")
    loaded = sorted({m for m in sys.modules for u in unused if m == u or m.startswith(u + ".")})
    print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
    """
)


@pytest.mark.parametrize(
    "command",
    [["changes"], ["state"], ["history", "Azure Functions"], ["snapshots"]],
    ids=lambda c: c[0],
)
def test_a_query_command_loads_no_parser_renderer_or_pydantic(
    command: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "watcher.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path}/w.db"\n')
    run("import", *map(str, EN_CHAIN), "--source", "azure-mi", config=str(config))
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, str(config), *command],
        capture_output=True,
        text=True,
        timeout=60,
    )
    *_, last = probe.stderr.strip().splitlines()
    assert json.loads(last) == {"code": 0, "loaded": []}, probe.stderr
    assert "Azure Functions" in probe.stdout or command == ["snapshots"]
