"""A real browser on the web view: headless Chromium from the system's packages
(``apt-get install chromium``: /usr/bin/chromium, never a downloaded build), driven by
Playwright, on a real uvicorn server over a database of the real page history.

``.ci/run`` installs Chromium before the tests, so CI runs the browser test; on a machine
without it the test is skipped with the reason, except under CI (``CI`` set), where a
missing browser is a failure rather than a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.cliutil import run
from tests.web.conftest import PAGES, import_pages
from watcher.config import Config
from watcher.storage.engine import make_engine, session_factory
from watcher.web.serve import Background, bind, build, url

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = f"{CHROMIUM} is missing: install it with `apt-get install chromium` (.ci/run does)"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(NO_CHROMIUM)
    pytest.skip(NO_CHROMIUM)


@contextmanager
def served_history(folder: Path, pages: list[Path] = PAGES) -> Iterator[str]:
    """The pages (the bundled history) imported into a SQLite file in ``folder``, served on
    a free loopback port: its base URL."""
    db = f"sqlite:///{folder / 'history.db'}"
    import_pages(db, pages)
    with served(db) as base:
        yield base


@contextmanager
def served_demo(folder: Path) -> Iterator[str]:
    """The database ``watcher --db URL demo`` leaves in ``folder``, served as above."""
    db = f"sqlite:///{folder / 'demo.db'}"
    run("demo", db=db)
    with served(db) as base:
        yield base


@contextmanager
def served(db: str) -> Iterator[str]:
    """The web view of a database on a free loopback port: its base URL."""
    engine = make_engine(db)
    web = Background(build(session_factory(engine), Config(), {}), bind("127.0.0.1", 0))
    web.start()
    try:
        yield url(web.sock).rstrip("/")
    finally:
        web.stop()
        engine.dispose()


@contextmanager
def browser_page() -> Iterator[Any]:
    """A page of headless system Chromium, with every console message and failed request
    kept on it (``page.problems``): a CSP violation shows up there."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # --no-sandbox: CI and these machines run as root, where Chromium's sandbox refuses.
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}"))
            # A request the next navigation cut short (the icon of a page left at once, on a
            # busy machine) is no failure of the page; a blocked or failed one is.
            page.on(
                "requestfailed",
                lambda r: (
                    r.failure == "net::ERR_ABORTED"
                    or problems.append(f"failed: {r.url} ({r.failure})")
                ),
            )
            page.problems = problems
            yield page
        finally:
            browser.close()
