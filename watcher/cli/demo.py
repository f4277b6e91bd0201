"""``watcher demo``: the whole pipeline offline, real page history served locally, checked
version by version into a fresh database, and the change log printed. Each version is
stored at its page date (its ms.date), as ``watcher import`` stores history, so the demo's
database answers questions about the past (``watcher --db URL demo`` keeps it).

The bundled versions (watcher/corpus) run from the 2019 matrix page to the 2025 status page.
The switch from one to the other is a real change of format, so the demo also shows the
guard: the first status-page version is quarantined and accepted only once two more checks
have seen it, as one ``format_changed`` event rather than hundreds of removals. The HTTP
server and the pipeline are imported inside the functions: ``watcher --help`` loads this
module for the command's help line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from watcher.cli.app import App, pass_app
from watcher.cli.outcomes import outcome_line

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from watcher.domain.outcome import Outcome

SOURCE_NAME = "demo-azure-managed-identities"


def bundled_versions() -> list[tuple[str, bytes]]:
    """(name, body) of each bundled version, oldest first."""
    from importlib import resources

    corpus = resources.files("watcher") / "corpus"
    # The matrix era, then the status page that replaced it; file names start with the date.
    pages = [p for era in ("en", "status-page") for p in (corpus / era).iterdir()]
    pages = sorted((p for p in pages if p.name.endswith(".md")), key=lambda p: p.name)
    return [(p.name[:10], p.read_bytes()) for p in pages]


class _Origin:
    """What the demo's server serves now."""

    def __init__(self) -> None:
        self.body = b""


@contextmanager
def serve(body: Callable[[], bytes]) -> Iterator[str]:
    """A real HTTP server on a free loopback port that serves whatever ``body()`` gives,
    with ETags as raw.githubusercontent.com sends them (the docs examples' stand-in for the
    live page is this server too)."""
    import hashlib
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = body()
            etag = '"' + hashlib.sha256(page).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/managed-identities-status.md"
    finally:
        server.shutdown()
        server.server_close()


def run_demo(
    engine: Engine,
    on_check: Callable[[str, Outcome], None],
    *,
    confirmations: int = 2,
) -> list[Outcome]:
    """Serve each bundled version and check it; a quarantined one is checked again until the
    guard's confirmations accept it, as a scheduler would on its next ticks."""
    from watcher.config import SourceConfig
    from watcher.ingest.check import CheckOptions, run_checks
    from watcher.ingest.fetch import FetchPolicy, make_client

    origin = _Origin()
    outcomes: list[Outcome] = []
    with serve(lambda: origin.body) as url, make_client() as client:
        cfg = SourceConfig(name=SOURCE_NAME, url=url, format="markdown")
        # Each version is stored at its page date, as `watcher import` stores history: the
        # demo's database then answers "what did the page say on 2021-06-01?".
        options = CheckOptions(policy=FetchPolicy(attempts=1, deadline=30), page_dated=True)
        for label, body in bundled_versions():
            origin.body = body
            for _ in range(confirmations + 1):
                (outcome,) = run_checks(engine, [cfg], client=client, options=options)
                on_check(label, outcome)
                outcomes.append(outcome)
                if outcome.result != "quarantined":
                    break
    return outcomes


@click.command()
@pass_app
def demo(app: App) -> None:
    """Run the whole pipeline offline on the bundled real page history and print the changes.

    Uses a fresh temporary SQLite database unless `watcher --db URL demo` names one (never
    WATCHER_DATABASE_URL's nor the config's: the demo must not add to a real history); each
    version is stored at its page date, as `watcher import` stores history.
    """
    import tempfile

    from watcher.audit.changes import ChangeFilter, change_rows
    from watcher.cli.output import print_change_log

    with tempfile.TemporaryDirectory(prefix="watcher-demo-") as tmp:
        if app.db_url is None:
            app.db_url = f"sqlite:///{tmp}/demo.db"
        # The demo never reads the user's config: it is about the bundled pages only.
        app.config_path = None
        app.sessions()  # migrates

        def report(label: str, o: Outcome) -> None:
            click.echo(f"page of {label}: {outcome_line(o)}")

        click.echo(
            "Serving the bundled page history from a local HTTP server, checking each version:"
        )
        outcomes = run_demo(app.engine, report)
        rows = app.read(change_rows, ChangeFilter(source=SOURCE_NAME))
        click.echo(f"\nChange log ({len(rows)} changes):")
        print_change_log(rows)
        app.engine.dispose()
    if any(o.failed for o in outcomes):
        sys.exit(1)
