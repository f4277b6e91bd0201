"""On a real terminal: tables fit 80 columns and never cut a timestamp; shell completion works.

The listing commands run under a pseudo-terminal 80 columns wide, as a user's would be; what
they print must fit the width, hold no ellipsis, and show every timestamp that the same
command's JSON holds, whole.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from pytest_httpserver import HTTPServer
from rich.cells import cell_len

from tests.cliutil import run
from tests.conftest import EN_CHAIN

WATCHER = Path(sys.executable).parent / "watcher"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def on_terminal(args: list[str], env: dict[str, str], columns: int = 80) -> str:
    """Run `watcher ARGS` on a pseudo-terminal COLUMNS wide; its screen output, uncoloured."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: stdout is the terminal; it never returns into pytest
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
            os.execve(str(WATCHER), [str(WATCHER), *args], {**env, "COLUMNS": str(columns)})
        finally:
            os._exit(127)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    text = ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")
    assert os.waitstatus_to_exitcode(status) == 0, text
    return text


def _json(args: list[str], env: dict[str, str]) -> list[dict[str, object]]:
    done = subprocess.run(
        [WATCHER, *args, "--format", "json"], env=env, capture_output=True, text=True, check=True
    )
    rows = json.loads(done.stdout)
    assert isinstance(rows, list)
    return rows


def test_tables_fit_80_columns_and_keep_every_timestamp_whole(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/page.md").respond_with_data(
        EN_CHAIN[1].read_bytes(), content_type="text/markdown"
    )
    config = tmp_path / "w.toml"
    config.write_text(
        '[[sources]]\nname = "azure-managed-identities"\n'
        f'url = "{httpserver.url_for("/page.md")}"\n'
        '\n[[routes]]\nname = "console"\nchannel = "stdout"\n',
        encoding="utf-8",
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")},
        "WATCHER_CONFIG": str(config),
        "WATCHER_DATABASE_URL": f"sqlite:///{tmp_path / 'watcher.db'}",
    }
    for argv in (
        ["check"],
        ["import", str(EN_CHAIN[0]), str(EN_CHAIN[2]), "--source", "azure-mi", "--notify"],
        ["dispatch"],
    ):
        subprocess.run([WATCHER, *argv], env=env, capture_output=True, check=True)

    # (A terminal shows the newest 50 changes; all of them here, to check every timestamp.)
    for command in (["changes", "--limit", "1000"], ["snapshots"], ["status"], ["notifications"]):
        screen = on_terminal(command, env)
        wide = [line for line in screen.splitlines() if cell_len(line) > 80]
        assert not wide, f"watcher {command[0]}: lines wider than 80 columns:\n" + "\n".join(wide)
        assert "…" not in screen, f"watcher {command[0]} cut a value:\n{screen}"
        stamps = set(TIMESTAMP.findall(json.dumps(_json(command, env))))
        assert stamps, f"watcher {command[0]} shows no timestamp to check"
        missing = sorted(s for s in stamps if s not in screen)
        assert not missing, f"watcher {command[0]} does not show {missing} whole:\n{screen}"

    # A terminal wide enough gets the table itself.
    wide_screen = on_terminal(["snapshots"], env, columns=200)
    assert "┃ id ┃ source" in wide_screen and "-[ 1 ]" not in wide_screen
    assert "-[ 1 ]" in on_terminal(["snapshots"], env)


def test_the_readme_completion_command_prints_a_bash_completion_script() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert 'eval "$(_WATCHER_COMPLETE=bash_source watcher)"' in readme
    env = {**os.environ, "_WATCHER_COMPLETE": "bash_source"}
    done = subprocess.run([WATCHER], env=env, capture_output=True, text=True, check=True)
    assert "_watcher_completion()" in done.stdout
    assert "complete -o nosort -F _watcher_completion watcher" in done.stdout
    # The script it installs answers: the commands for `watcher ch<TAB>`.
    env = {
        **os.environ,
        "_WATCHER_COMPLETE": "bash_complete",
        "COMP_WORDS": "watcher ch",
        "COMP_CWORD": "1",
    }
    done = subprocess.run([WATCHER], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["plain,changes", "plain,check"]


def test_a_piped_table_is_plain_rows_one_line_each_with_every_value_whole() -> None:
    page = EN_CHAIN[1]  # its resource IDs are 100-character words
    done = subprocess.run([WATCHER, "parse", page], capture_output=True, text=True, check=True)
    lines = done.stdout.splitlines()
    records = subprocess.run(
        [WATCHER, "parse", page, "--format", "json"], capture_output=True, text=True, check=True
    )
    rows = json.loads(records.stdout)
    # A header, then one line per record, in the records' order, each value whole.
    assert lines[0].split() == ["section", "entity", "row", "column", "raw", "status"]
    assert len(lines) == 1 + len(rows) and "…" not in done.stdout
    assert not set("┏┃│└") & set(done.stdout) and "\x1b" not in done.stdout
    for line, row in zip(lines[1:], rows, strict=True):
        assert line.startswith(row["section"]) and row["raw"].replace("\n", " ") in line
    assert "usgovcloudapi.net<br>https://<account>.queue.core.usgovcloudapi.net" in done.stdout


def test_page_text_that_looks_like_rich_markup_is_shown_as_itself(
    tmp_path: Path, db_url: str
) -> None:
    """An entity named with brackets and backslashes (``\\[/foo]``, ``[bold]``) is text in
    every table and in the change log, never markup that breaks or restyles them."""
    pages = []
    for page in EN_CHAIN[1:]:
        text = page.read_text(encoding="utf-8").replace(
            "### Azure Maps", "### Azure \\\\[/foo] Maps [bold]x[/bold]"
        )
        pages.append(tmp_path / page.name)
        pages[-1].write_text(text, encoding="utf-8")
    run("import", *map(str, pages), "--source", "mi", db=db_url)
    shown = {
        "parse": run("parse", str(pages[1])).stdout,
        "changes": run("changes", "--entity", "Azure*Maps*", db=db_url).stdout,
        "state": run("state", "--entity", "Azure*Maps*", db=db_url).stdout,
        "history": run("history", "Azure*Maps*", db=db_url).stdout,
    }
    for command, out in shown.items():
        assert r"Azure \[/foo]" in out and "[bold]x[/bold]" in out, (command, out)


def test_a_bidi_override_in_page_text_shows_as_a_mark_on_the_terminal(
    tmp_path: Path, db_url: str
) -> None:
    """A right-to-left override in an entity's name (``Azure \u202espaM``) would reorder the
    rest of the line on a terminal: tables and the change log show U+FFFD where it was; JSON
    keeps the page's text as stored."""
    pages = []
    for page in EN_CHAIN[1:]:
        text = page.read_text(encoding="utf-8").replace("### Azure Maps", "### Azure \u202espaM")
        pages.append(tmp_path / page.name)
        pages[-1].write_text(text, encoding="utf-8")
    run("import", *map(str, pages), "--source", "mi", db=db_url)
    shown = {
        "parse": run("parse", str(pages[1])).stdout,
        "changes": run("changes", "--entity", "Azure*spaM*", db=db_url).stdout,
        "state": run("state", "--entity", "Azure*spaM*", db=db_url).stdout,
    }
    for command, out in shown.items():
        assert "\u202e" not in out and "Azure \ufffdspaM" in out, (command, out)
    raw = run("changes", "--entity", "Azure*spaM*", "--format", "json", db=db_url).stdout
    assert "\\u202e" in raw or "\u202e" in raw


def test_a_terminal_shows_the_newest_rows_first_and_says_how_to_see_more(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")},
        "WATCHER_DATABASE_URL": f"sqlite:///{tmp_path / 'watcher.db'}",
    }
    imported = ["import", *map(str, EN_CHAIN), "--source", "mi"]
    subprocess.run([WATCHER, *imported], env=env, capture_output=True, check=True)
    log = _json(["changes"], env)
    assert len(log) > 50
    screen = on_terminal(["changes"], env, columns=200)
    # The newest check's changes first, 50 of them, and the way to the rest.
    newest, oldest = log[-1]["detected_at"], log[0]["detected_at"]
    assert newest != oldest
    assert screen.index(newest) < screen.index(oldest) < screen.index("the newest 50 changes")
    assert "--limit N shows more; piped (watcher changes | less)" in screen
    screen = on_terminal(["changes", "--limit", "3"], env, columns=200)
    assert newest in screen and oldest not in screen and "the newest 3 changes" in screen
    assert "newest" not in on_terminal(["changes", "--limit", "1000"], env, columns=200)
    # Piped, the whole log as before, oldest first, and nothing said about more.
    piped = subprocess.run([WATCHER, "changes"], env=env, capture_output=True, text=True)
    assert piped.stderr == "" and log[0]["detected_at"] in piped.stdout
    assert piped.stdout.index(log[0]["detected_at"]) < piped.stdout.index(log[-1]["detected_at"])

    snaps = _json(["snapshots"], env)
    screen = on_terminal(["snapshots", "--limit", "2"], env, columns=200)
    ids = [int(m) for m in re.findall(r"^\W*?(\d+) +│ mi ", screen, flags=re.M)]
    assert ids == [snaps[-1]["id"], snaps[-2]["id"]]
    assert "watcher: the newest 2 snapshots are shown; --limit N shows more" in screen
