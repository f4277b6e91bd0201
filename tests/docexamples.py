"""Run the shell examples of README.md and docs/*.md and compare what they print.

An example is a fenced block (plain or `console`) whose first line is a `$ ` command; the
lines after each command, up to the next one, are what it prints (stdout and stderr, as on a
terminal). A `toml` block whose first line is `# NAME.toml...` is a file the reader writes
before the next example. Commands run one by one with bash, from the root of a copy of the
repository, with the installed `watcher` first on PATH and `WATCHER_DATABASE_URL` pointing at
a fresh SQLite file; `$ export NAME=VALUE` sets a variable for the commands after it, and
`$?` is the previous command's exit status.

Comparison is exact except for, on both sides:
- trailing spaces of a line, and blank lines that end an output (the page cannot show them);
- a line `...`, which stands for any number of lines the page leaves out;
- timestamps with fractional seconds (`2026-12-01T06:05:06.134286Z`): the time a command ran.
and, in what the commands print, before comparing or writing:
- the copy's location, shown as REPO_SHOWN (the page says so);
- the local server that stands in for the live page, shown as the live page's URL: a
  command marked `# after the page changed` gets the next version of it (see LIVE_PAGES).

`WATCHER_UPDATE_DOCS=1 pytest tests/test_readme_examples.py` writes what the commands print
into the pages instead, for `git diff` to show: each output that differs is replaced (each
`...` stays, and the excerpt after it is taken again from the line that starts it); one that
matches is left as it is.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import CORPUS
from tests.sourcetree import copy_repository
from watcher.cli.demo import serve
from watcher.config import LIVE_PAGE_URL as LIVE_URL

WATCHER_BIN = Path(sys.executable).parent
REPO_SHOWN = "/home/user/watcher"
UPDATE = os.environ.get("WATCHER_UPDATE_DOCS") == "1"
PAGE_CHANGED = "# after the page changed"
# What the stand-in for the live page serves: the first version, then the next one after
# each command marked PAGE_CHANGED.
LIVE_PAGES = [
    CORPUS / "en" / "2021-01-28__MicrosoftDocs.md",
    CORPUS / "en" / "2021-11-09__MicrosoftDocs__03436ea.md",
]
NOW = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")
FENCE = re.compile(r"^```(\w*)\s*$")
FILE_BLOCK = re.compile(r"^# ([\w.-]+\.toml)\b")
EXPORT = re.compile(r"^export ([A-Z_][A-Z0-9_]*)=(\S+)(\s+#.*)?$")
ELLIPSIS = "..."


@dataclass
class Command:
    line: str  # as the page shows it, without "$ "
    expected: list[str]
    blank_after: int  # blank lines between its output and the next command, kept on update
    actual: list[str] = field(default_factory=list)


@dataclass
class Block:
    start: int  # index of the opening fence line
    end: int  # index of the closing fence line
    commands: list[Command] = field(default_factory=list)
    file_name: str | None = None
    file_text: str = ""


def read_blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while not lines[j].startswith("```"):
            j += 1
        body = lines[i + 1 : j]
        info = m.group(1)
        if info in ("", "console") and body and body[0].startswith("$ "):
            blocks.append(Block(i, j, commands=_commands(body)))
        elif info == "toml" and body and (name := FILE_BLOCK.match(body[0])):
            blocks.append(Block(i, j, file_name=name.group(1), file_text="\n".join(body) + "\n"))
        i = j + 1
    return blocks


def _commands(body: list[str]) -> list[Command]:
    commands: list[Command] = []
    for line in body:
        if line.startswith("$ "):
            commands.append(Command(line[2:], [], 0))
        else:
            commands[-1].expected.append(line)
    for command in commands:
        while command.expected and not command.expected[-1].strip():
            command.expected.pop()
            command.blank_after += 1
    return commands


class LivePage:
    """A local stand-in for the live page, with ETags as raw.githubusercontent.com sends."""

    def __init__(self) -> None:
        self.version = 0

    @property
    def body(self) -> bytes:
        return LIVE_PAGES[min(self.version, len(LIVE_PAGES) - 1)].read_bytes()


class Scene:
    """One reader's session: a copy of the repository, a fresh database, the live page."""

    def __init__(self, where: Path, live_url: str, page: LivePage) -> None:
        self.root = copy_repository(where / "repo")
        config = self.root / "config" / "watcher.toml"
        text = config.read_text(encoding="utf-8")
        assert LIVE_URL in text, f"{config} no longer watches {LIVE_URL}"
        config.write_text(text.replace(LIVE_URL, live_url), encoding="utf-8")
        self.live_url, self.page = live_url, page
        page.version = 0
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("WATCHER_", "_WATCHER_")) and k not in ("COLUMNS", "LINES")
        }
        self.env.update(
            PATH=f"{WATCHER_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            WATCHER_DATABASE_URL=f"sqlite:///{where / 'watcher.db'}",
            TZ="UTC",
        )
        self.status = 0

    def write(self, block: Block) -> None:
        assert block.file_name
        (self.root / block.file_name).write_text(block.file_text, encoding="utf-8")

    def run(self, command: Command) -> None:
        if PAGE_CHANGED in command.line:
            self.page.version += 1
        if m := EXPORT.match(command.line):
            self.env[m.group(1)] = m.group(2)
        done = subprocess.run(
            ["bash", "-c", f"(exit {self.status})\n{command.line}"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=300,
        )
        self.status = done.returncode
        text = done.stdout.decode()
        text = text.replace(str(self.root), REPO_SHOWN).replace(self.live_url, LIVE_URL)
        command.actual = [line.rstrip() for line in text.splitlines()]
        while command.actual and not command.actual[-1]:
            command.actual.pop()


def _volatile(lines: list[str]) -> list[str]:
    return [NOW.sub("<now>", line.rstrip()) for line in lines]


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line, a `...` line standing for any run of lines."""
    want, got = _volatile(expected), _volatile(actual)

    @functools.cache
    def at(i: int, j: int) -> bool:
        if i == len(want):
            return j == len(got)
        if want[i].strip() == ELLIPSIS:
            return any(at(i + 1, k) for k in range(j, len(got) + 1))
        return j < len(got) and want[i] == got[j] and at(i + 1, j + 1)

    return at(0, 0)


def regenerated(expected: list[str], actual: list[str]) -> list[str]:
    """What the page should show: `actual`, cut to the excerpts the page chose with `...`.

    The lines before the first `...` are the start of the output; each excerpt after one
    starts at the first later line equal to its own first line and keeps its length; an
    excerpt that ends the page's output ends the real one."""
    if not any(line.strip() == ELLIPSIS for line in expected):
        return actual
    segments: list[list[str]] = [[]]
    for line in expected:
        if line.strip() == ELLIPSIS:
            segments.append([line])
        else:
            segments[-1].append(line)
    got = _volatile(actual)
    out: list[str] = actual[: len(segments[0])]
    pos = len(segments[0])
    for number, (marker, *body) in enumerate(segments[1:], 1):
        out.append(marker)
        if not body:
            continue
        if number == len(segments) - 1:
            start = max(pos, len(actual) - len(body))
        elif (anchor := _volatile(body[:1])[0]) in got[pos:]:
            start = got.index(anchor, pos)
        else:
            raise AssertionError(f"the excerpt starting {body[0]!r} is gone: choose anew")
        out += actual[start : start + len(body)]
        pos = start + len(body)
    return out


def check_page(path: Path, scratch: Path, *, one_session: bool) -> list[str]:
    """Run every example of the page: the failures and mismatches, or [] on update (after
    rewriting the page, unless a command failed)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks = read_blocks(lines)
    problems: list[str] = []
    failures: list[str] = []  # a command that failed: never written into the page
    page = LivePage()
    with serve(lambda: page.body) as live_url:
        scene: Scene | None = None
        pending: list[Block] = []
        for number, block in enumerate(blocks):
            if block.file_name:
                pending.append(block)
                continue
            if scene is None or not one_session:
                scene = Scene(scratch / f"scene-{number}", live_url, page)
            for file_block in pending:
                scene.write(file_block)
            pending = []
            for i, command in enumerate(block.commands):
                scene.run(command)
                shown_status = i + 1 < len(block.commands) and "$?" in block.commands[i + 1].line
                if scene.status and not shown_status:
                    failures.append(
                        f"{path.name}: `{command.line}` exited {scene.status}:\n"
                        + "\n".join(command.actual)
                    )
                elif not matches(command.expected, command.actual):
                    diff = difflib.unified_diff(
                        command.expected, command.actual, "page", "real", lineterm=""
                    )
                    problems.append(f"{path.name}: `$ {command.line}`\n" + "\n".join(diff))
    if UPDATE and not failures:
        _rewrite(path, lines, blocks)
        return []
    return failures + problems


def _rewrite(path: Path, lines: list[str], blocks: list[Block]) -> None:
    out: list[str] = []
    pos = 0
    for block in blocks:
        if not block.commands:
            continue
        out += lines[pos : block.start + 1]
        for command in block.commands:
            out.append(f"$ {command.line}")
            # An output that matches stays as it is, with the times of the run that made it.
            if matches(command.expected, command.actual):
                out += command.expected
            else:
                out += regenerated(command.expected, command.actual)
            out += [""] * command.blank_after
        pos = block.end
    out += lines[pos:]
    path.write_text("\n".join(out), encoding="utf-8")
