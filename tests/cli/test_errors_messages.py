"""Mistakes an operator makes on the command line, and failures the database meets: each
gets one line on stderr and its exit code (2 bad usage, 1 an operational failure), never a
traceback or click's usage block."""

from __future__ import annotations

import gzip
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.cliutil import run, run_json
from tests.conftest import EN_CHAIN, POSTGRES_URL
from tests.disk import fill, mount_tmpfs, small_filesystem
from watcher.domain.known import KINDS, columns
from watcher.storage.engine import make_engine


def one_line(result_stderr: str) -> str:
    assert result_stderr.count("\n") == 1, result_stderr
    return result_stderr.rstrip("\n")


# --- filters take known values ----------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("changes", "--kind", "status_change"),
            "watcher: Invalid value for '--kind': 'status_change' is not a known change kind; "
            f"did you mean 'status_changed'? (known: {', '.join(KINDS)}) "
            "(see 'watcher changes --help')",
        ),
        (
            ("changes", "--column", "usgovt"),
            "watcher: Invalid value for '--column': 'usgovt' is not a known column key; did you "
            f"mean 'usgov'? (known: {', '.join(columns())}) (see 'watcher changes --help')",
        ),
        (
            ("changes", "--severity", "warn"),
            "watcher: Invalid value for '--severity': 'warn' is not a known severity; did you "
            "mean 'warning'? (known: info, notice, warning) (see 'watcher changes --help')",
        ),
        (
            ("import", str(EN_CHAIN[0]), "--source", ""),
            "watcher: Invalid value for '--source': a source needs a name "
            "(see 'watcher import --help')",
        ),
        (
            ("import", str(EN_CHAIN[0]), "--source", "my archive"),
            "watcher: Invalid value for '--source': 'my archive' is not a source name: letters, "
            "digits, '.', '_' and '-', starting with a letter or digit "
            "(see 'watcher import --help')",
        ),
        (
            ("import", str(EN_CHAIN[0]), "--source", "mi "),
            "watcher: Invalid value for '--source': 'mi ' has spaces around it; did you mean "
            "'mi'? (see 'watcher import --help')",
        ),
        (
            ("chnages",),
            "watcher: No such command 'chnages'. Did you mean 'changes'? (see 'watcher --help')",
        ),
    ],
)
def test_a_filter_that_would_match_nothing_is_refused(
    tmp_path: Path, args: tuple[str, ...], line: str
) -> None:
    result = run(*args, db=f"sqlite:///{tmp_path / 'w.db'}", code=2)
    assert one_line(result.stderr) == line


def test_every_column_and_row_of_the_real_pages_is_known() -> None:
    """A filter may name whatever the parser makes of the real pages (the translated page's
    Japanese headers aside: no route names those)."""
    from tests.conftest import CORPUS
    from watcher.domain.known import rows
    from watcher.parse import parse

    seen_columns: set[str] = set()
    seen_rows: set[str] = set()
    for page in sorted(CORPUS.glob("*/*.md")):
        if page.parent.name != "localized":
            doc = parse(page.read_bytes(), "markdown")
            seen_columns |= {r.column_key for r in doc.records}
            seen_rows |= {r.row_key for r in doc.records if r.row_key}
    assert seen_columns <= set(columns())
    assert seen_rows <= set(rows())
    # And nothing listed that no page has (the namespace column is from late 2021).
    from watcher.domain.keys import PAGE_COLUMNS

    assert set(PAGE_COLUMNS) <= seen_columns | {"namespace"}
    assert {"identity_types", "documentation", "usgov", "resource_id"} <= seen_columns


def test_a_group_alone_shows_its_help() -> None:
    # Not a mistake to put on one line: click's help, as `watcher` alone always showed it.
    assert run("db", code=2).stderr.startswith("Usage: watcher db [OPTIONS] COMMAND [ARGS]...")


@pytest.mark.parametrize(
    "command",
    [
        ("changes",),
        ("snapshots",),
        ("state",),
        ("history", "Azure Functions"),
        ("export", "--format", "json"),
        ("reparse", "--dry-run"),
    ],
)
def test_every_source_option_names_the_stored_sources(
    db_url: str, command: tuple[str, ...]
) -> None:
    run("import", str(EN_CHAIN[0]), "--source", "mi", db=db_url)
    result = run(*command, "--source", "azure-mi", db=db_url, code=2)
    assert one_line(result.stderr) == "watcher: no source named 'azure-mi' (known: mi)"
    assert result.stdout == ""


def test_a_source_option_on_an_empty_database_says_nothing_is_stored(db_url: str) -> None:
    result = run("changes", "--source", "mi", db=db_url, code=2)
    assert one_line(result.stderr) == "watcher: no source named 'mi' (no source is stored yet)"


# --- the database -----------------------------------------------------------------------


def test_an_unknown_driver_as_db(tmp_path: Path) -> None:
    result = run("status", db="mysql+nothing://x", code=2)
    assert one_line(result.stderr) == (
        "watcher: --db mysql+nothing://x: 'mysql+nothing' is not a database"
        " watcher speaks: use sqlite:///PATH or postgresql://USER@HOST/DBNAME"
    )


def test_a_path_instead_of_a_url_as_db(tmp_path: Path) -> None:
    result = run("status", db=str(tmp_path), code=2)
    assert one_line(result.stderr) == (
        f"watcher: --db {tmp_path}: not a database URL (a SQLite file is "
        "sqlite:///PATH, a server postgresql://USER@HOST/DBNAME)"
    )


MALFORMED = [
    (
        "postgresql://watcher:s3cret-9f8e@db.example:notaport/watcher",
        "postgresql://watcher:***@db.example:notaport/watcher",
        "the port 'notaport' is not a number from 1 to 65535",
    ),
    (
        "postgres://w@db:99999/w",
        "postgres://w@db:99999/w",
        "the port '99999' is not a number from 1 to 65535",
    ),
    ("postgresql://w@db:/w", "postgresql://w@db:/w", "no port follows the ':' after the host"),
    (
        "postgresql://w:s3cret-9f8e@[::1/w",
        "postgresql://w:***@[::1/w",
        "the host '[::1' has no closing ']'",
    ),
    (
        "postgresql://w:s3cret@9f8e@db/w",
        "postgresql://w:***@db/w",
        "the user name or password has an '@' in it: write it as %40",
    ),
    (
        "postgresql://w:s3cret/9f8e@db/w",
        "postgresql://w:***@db/w",
        "the password has a '/' in it: write it as %2F",
    ),
    (
        "sqlite://watcher.db",
        "sqlite://watcher.db",
        "a SQLite file is sqlite:///PATH: three slashes before a relative path, four before an "
        "absolute one",
    ),
]
IDS = [
    "port not a number",
    "port out of range",
    "empty port",
    "unclosed IPv6 host",
    "@ in the password",
    "/ in the password",
    "two slashes",
]


@pytest.mark.parametrize(("url", "shown", "problem"), MALFORMED, ids=IDS)
def test_a_malformed_database_url_is_named_in_one_line_wherever_it_came_from(
    url: str, shown: str, problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each says what is wrong and where the URL was given, and never any of the password
    (once a bare "ValueError", or Python's words for a failed int())."""
    config = tmp_path / "watcher.toml"
    config.write_text(f'[database]\nurl = "{url}"\n')
    monkeypatch.delenv("WATCHER_DATABASE_URL", raising=False)
    said = {
        "file": run("status", config=str(config), code=2),
        "check": run("config", "check", config=str(config), code=2),
        "--db": run("status", db=url, code=2),
    }
    monkeypatch.setenv("WATCHER_DATABASE_URL", url)
    said["env"] = run("changes", code=2)
    assert {where: one_line(r.stderr) for where, r in said.items()} == {
        "file": f"watcher: {config}: database.url: {problem}",
        "check": f"watcher: {config}: database.url: {problem}",
        "--db": f"watcher: --db {shown}: {problem}",
        "env": f"watcher: WATCHER_DATABASE_URL {shown}: {problem}",
    }
    for result in said.values():
        assert "s3cret" not in result.output and "9f8e" not in result.output


def test_a_folder_as_the_sqlite_file(tmp_path: Path) -> None:
    result = run("status", db=f"sqlite:///{tmp_path}", code=2)
    assert one_line(result.stderr) == (
        f"watcher: cannot prepare the database sqlite:///{tmp_path}: unable to open database "
        f"file ({tmp_path} is a folder, not a database file)"
    )


def test_db_upgrade_tells_a_database_it_cannot_open_as_every_command_does(tmp_path: Path) -> None:
    result = run("db", "upgrade", db=f"sqlite:///{tmp_path}", code=2)
    assert one_line(result.stderr) == (
        f"watcher: migration failed: database sqlite:///{tmp_path}: unable to open database "
        f"file ({tmp_path} is a folder, not a database file)"
    )


def test_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nope/w.db"
    result = run("check", db=url, code=2)
    assert one_line(result.stderr) == (
        f"watcher: cannot prepare the database {url}: unable to open database file "
        f"(the folder {tmp_path}/nope does not exist)"
    )


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB filesystem of its own, to fill up or make read-only."""
    with small_filesystem(tmp_path / "fs") as where:
        yield where


def test_a_full_database_is_one_line_and_keeps_what_was_stored(small_fs: Path) -> None:
    url = f"sqlite:///{small_fs}/w.db"
    run("import", str(EN_CHAIN[0]), "--source", "mi", db=url)
    fill(small_fs / "filler", leave=64 * 1024)  # room to open the file, not to store a page
    result = run("import", str(EN_CHAIN[1]), "--source", "mi", db=url, code=1)
    # An import says where it stopped, and how many of its files it stored before.
    assert one_line(result.stderr) == (
        f"watcher: import stopped at {EN_CHAIN[1]}: database {url}: database or disk is full;"
        " 0 of 1 files stored before it"
    )
    assert [s["id"] for s in run_json("snapshots", db=url)] == [1]


def test_a_database_on_a_full_disk_that_cannot_even_open(small_fs: Path) -> None:
    url = f"sqlite:///{small_fs}/w.db"
    run("import", str(EN_CHAIN[0]), "--source", "mi", db=url)
    fill(small_fs / "filler", leave=0)
    result = run("status", db=url, code=1)
    assert one_line(result.stderr) == (
        f"watcher: cannot prepare the database {url}: disk I/O error "
        f"(no space is left in {small_fs})"
    )


@pytest.fixture
def read_only_sqlite(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A SQLite database with one stored page, then made read-only, and what SQLite says
    when asked to write there: a read-only mount for root (whom file modes do not stop),
    where it cannot even open its journal; the file's and folder's modes otherwise."""
    where = tmp_path / "ro"
    url = f"sqlite:///{where}/w.db"
    if os.geteuid() == 0:
        mount_tmpfs(where, "4m")
        run("import", str(EN_CHAIN[0]), "--source", "mi", db=url)
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        try:
            yield url, "unable to open database file"
        finally:
            subprocess.run(["umount", "-l", str(where)], check=False)
        return
    where.mkdir()
    run("import", str(EN_CHAIN[0]), "--source", "mi", db=url)
    (where / "w.db").chmod(0o444)
    where.chmod(0o555)
    try:
        yield url, "attempt to write a readonly database"
    finally:
        where.chmod(0o755)


def test_a_read_only_sqlite_database(read_only_sqlite: tuple[str, str]) -> None:
    url, reason = read_only_sqlite
    path = url.removeprefix("sqlite:///")
    result = run("import", str(EN_CHAIN[1]), "--source", "mi", db=url, code=1)
    assert one_line(result.stderr) == (
        f"watcher: cannot prepare the database {url}: {reason} ({path} is read-only)"
    )


def test_a_read_only_postgresql_database() -> None:
    if not POSTGRES_URL:
        pytest.skip("WATCHER_TEST_POSTGRES_URL is not set")
    from tests.conftest import reset_postgres

    reset_postgres(POSTGRES_URL)
    run("import", str(EN_CHAIN[0]), "--source", "mi", db=POSTGRES_URL)
    engine = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = engine.url.database
    with engine.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    try:
        result = run("import", str(EN_CHAIN[1]), "--source", "mi", db=POSTGRES_URL, code=1)
        assert one_line(result.stderr) == (
            f"watcher: import stopped at {EN_CHAIN[1]}: database {POSTGRES_URL}: cannot execute"
            " INSERT in a read-only transaction; 0 of 1 files stored before it"
        )
        # Reading still works.
        assert [s["id"] for s in run_json("snapshots", db=POSTGRES_URL)] == [1]
    finally:
        with engine.connect() as conn:
            conn.execute(text("SET default_transaction_read_only = off"))
            conn.execute(text(f'ALTER DATABASE "{name}" RESET default_transaction_read_only'))
        engine.dispose()


# --- files and ports --------------------------------------------------------------------


def test_export_into_a_missing_folder(db_url: str, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "changes.csv"
    result = run("export", "--format", "csv", "--output", str(target), db=db_url, code=2)
    assert one_line(result.stderr) == (
        f"watcher: --output {target}: the folder {target.parent} does not exist"
    )


def test_a_metrics_port_out_of_range(tmp_path: Path) -> None:
    result = run("run", "--metrics-port", "99999", db=f"sqlite:///{tmp_path}/w.db", code=2)
    assert one_line(result.stderr) == (
        "watcher: Invalid value for '--metrics-port': 99999 is not in the range 0<=x<=65535. "
        "(see 'watcher run --help')"
    )


@pytest.mark.parametrize(
    ("name", "body", "line"),
    [
        ("empty.md", b"", "the file is empty"),
        ("blank.md", b"\n  \n", "the file is empty"),
        ("bom.md", b"\xef\xbb\xbf\n", "the file is empty"),  # a byte order mark alone
        # The page, compressed: a file a user may well pick by mistake.
        ("page.md.gz", gzip.compress(EN_CHAIN[0].read_bytes(), mtime=0), "not a page: "
         "the file holds binary data"),
    ],
)  # fmt: skip
def test_import_refuses_what_is_not_a_page(
    db_url: str, tmp_path: Path, name: str, body: bytes, line: str
) -> None:
    path = tmp_path / name
    path.write_bytes(body)
    result = run("import", str(EN_CHAIN[0]), str(path), "--source", "mi", db=db_url, code=2)
    assert one_line(result.stderr) == f"watcher: {path}: {line}"
    # Refused before anything is stored, the good file given before it included.
    assert run_json("snapshots", db=db_url) == []
    # `parse` refuses it the same way, rather than listing no records.
    result = run("parse", str(path), db=db_url, code=2)
    assert one_line(result.stderr) == f"watcher: {path}: {line}" and result.stdout == ""


def test_import_refuses_a_file_over_the_sources_size_cap(db_url: str, tmp_path: Path) -> None:
    config = tmp_path / "w.toml"
    config.write_text('[[sources]]\nname = "mi"\nurl = "https://x/p.md"\nmax_bytes = 20000\n')
    size = EN_CHAIN[1].stat().st_size
    result = run("import", str(EN_CHAIN[1]), "--source", "mi", config=str(config), db=db_url,
                 code=2)  # fmt: skip
    assert one_line(result.stderr) == (
        f"watcher: {EN_CHAIN[1]}: {size} bytes is over the 20000-byte cap (max_bytes)"
    )


def test_import_refuses_a_huge_file_at_the_fetchs_default_cap(tmp_path: Path) -> None:
    huge = tmp_path / "huge.md"
    huge.write_bytes(b"| a |\n" * (5 * 1024 * 1024 // 6 + 1))
    result = run("import", str(huge), "--source", "mi", db=f"sqlite:///{tmp_path}/w.db", code=2)
    assert one_line(result.stderr) == (
        f"watcher: {huge}: {huge.stat().st_size} bytes is over the 5242880-byte cap (max_bytes)"
    )
