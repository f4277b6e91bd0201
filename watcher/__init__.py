"""watcher: tracks Microsoft's page of Azure services that support managed identities."""

import sys
import types

__version__ = "0.1.0"


def _without_httpx_cli() -> None:
    """Keep httpx from importing its command-line tool, which watcher never runs.

    httpx loads it on import whenever rich and pygments are installed (they are: rich
    prints our tables), and that alone is about 70 ms of a cron check's 450 ms and a few
    MiB of the daemon's memory. Done here, before any watcher module can import httpx.
    The stand-in keeps ``httpx.main`` a callable that says why it is missing.
    """
    if "httpx" in sys.modules:
        return
    stub = types.ModuleType("httpx._main")

    def main() -> None:
        raise SystemExit("the httpx command-line tool is not loaded inside watcher")

    stub.main = main  # type: ignore[attr-defined]
    sys.modules.setdefault("httpx._main", stub)


_without_httpx_cli()
